fn main() {
    // The performance panel's chart library comes from npm (scripts/ui.sh), never from git.
    let chart = std::path::Path::new("../ui/app/vendor/uPlot.iife.min.js");
    if !chart.exists() {
        panic!(
            "{} is missing: run scripts/ui.sh (npm ci in ui/, then the files are copied into \
             ui/app/vendor/)",
            chart.display()
        );
    }
    println!("cargo:rerun-if-changed=../ui/app");
    tauri_build::build()
}
