//! Checks what the app embeds or bundles before tauri-build does, so a fresh clone that skipped
//! the set-up fails at once with one line naming the script to run, not with a panic or
//! tauri-build's "resource path … doesn't exist" buried in the build script's output.

use std::path::Path;

fn main() {
    let mut missing = Vec::new();
    // The performance panel's chart library comes from npm (scripts/ui.sh), never from git.
    if !Path::new("../ui/app/vendor/uPlot.iife.min.js").exists() {
        missing.push("ui/app/vendor/uPlot.iife.min.js (scripts/ui.sh)");
    }
    // On macOS, tauri-build copies the bundle's resources and frameworks
    // (tauri.macos.conf.json) at build time: the model, the voices and ONNX Runtime, which
    // `utter setup` fetches.
    let macos = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos");
    if macos {
        for asset in [
            "../models/kokoro-v1.0.int8.onnx",
            "../models/onnxruntime/libonnxruntime.dylib",
            "../voices/af_heart.bin",
        ] {
            if !Path::new(asset).is_file() {
                missing.push(&asset[3..]);
            }
        }
    }
    if !missing.is_empty() {
        println!(
            "cargo::error={} missing: run scripts/app.sh (or scripts/test.sh) first; it sets up \
             what the app build needs",
            missing.join(", ")
        );
        return;
    }
    println!("cargo:rerun-if-changed=../ui/app");
    if macos {
        println!("cargo:rerun-if-changed=../models/onnxruntime/libonnxruntime.dylib");
    }
    tauri_build::build()
}
