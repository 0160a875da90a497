//! Minimal front end for trying `utter_assets` by hand:
//!
//! ```text
//! cargo run -p utter-assets --example setup -- [ROOT] [--check] [--verify-all]
//! ```
//!
//! ROOT defaults to `utter_assets::discover_root()`.

use std::process::ExitCode;

use utter_assets::{AssetPaths, IndicatifProgress, SetupOptions};

fn main() -> ExitCode {
    let mut root = None;
    let mut only_check = false;
    let mut opts = SetupOptions::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => only_check = true,
            "--verify-all" => opts.verify_all = true,
            _ => root = Some(std::path::PathBuf::from(arg)),
        }
    }
    let root = root.unwrap_or_else(utter_assets::discover_root);
    let paths = AssetPaths::at(&root);
    let result = if only_check {
        utter_assets::check(&paths).map(|()| "all assets present".to_string())
    } else {
        utter_assets::setup(&paths, &opts, &IndicatifProgress::new()).map(|r| r.to_string())
    };
    match result {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut msg = format!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!("\n  caused by: {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
