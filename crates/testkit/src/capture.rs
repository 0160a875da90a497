//! Recording the null sink's monitor and measuring the capture.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Capture rate and channels (the sink's format).
pub const RATE: u32 = 48_000;
const CHANNELS: u16 = 2;
/// Analysis window.
pub const WINDOW: f64 = 0.005;
/// A window louder than this is sound (-45 dBFS RMS).
const SOUND_RMS: f32 = 0.0056;

/// A running recording of the sink.
pub struct Recording {
    child: Child,
    path: PathBuf,
    _dir: tempfile::TempDir,
    /// The instant the capture's first sample stands for.
    pub t0: Instant,
}

impl Recording {
    /// Starts recording and returns once samples are flowing.
    #[allow(clippy::zombie_processes)] // the child is waited for in `finish`
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("capture.wav");
        let child = Command::new("parecord")
            .args([
                "--latency-msec=10",
                "--device=utter_sink.monitor",
                "--rate=48000",
            ])
            .args(["--channels=2", "--format=s16le", "--file-format=wav"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("parecord (pulseaudio-utils) runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > 44 + 4 * 480 {
                // Samples so far stand for this much time before now.
                let recorded = (size - 44) as f64 / f64::from(RATE * 4);
                let t0 = Instant::now() - Duration::from_secs_f64(recorded);
                return Self {
                    child,
                    path,
                    _dir: dir,
                    t0,
                };
            }
            assert!(
                Instant::now() < deadline,
                "the recorder produced no samples"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Capture time (seconds) of an instant.
    pub fn at(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// Stops recording and returns the mono envelope analysis.
    pub fn finish(mut self) -> Capture {
        std::thread::sleep(Duration::from_millis(200));
        // SIGINT lets parecord finish the WAV header.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        Capture::read(&self.path)
    }
}

/// RMS per window of a capture.
pub struct Capture {
    /// RMS of each [`WINDOW`].
    pub windows: Vec<f32>,
}

impl Capture {
    fn read(path: &Path) -> Self {
        let mut reader = hound::WavReader::open(path).expect("a complete WAV");
        assert_eq!(reader.spec().channels, CHANNELS);
        let per_window = (f64::from(RATE) * WINDOW) as usize * usize::from(CHANNELS);
        let samples: Vec<f32> = reader
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap_or(0)) / 32768.0)
            .collect();
        let windows = samples
            .chunks(per_window)
            .map(|w| (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt())
            .collect();
        Self { windows }
    }

    /// Length of the capture, in seconds.
    pub fn secs(&self) -> f64 {
        self.windows.len() as f64 * WINDOW
    }

    fn loud(&self, i: usize) -> bool {
        self.windows.get(i).is_some_and(|&r| r > SOUND_RMS)
    }

    /// First sound at or after `from` seconds.
    pub fn first_sound(&self, from: f64) -> Option<f64> {
        let start = (from / WINDOW) as usize;
        (start..self.windows.len())
            .find(|&i| self.loud(i))
            .map(|i| i as f64 * WINDOW)
    }

    /// End of the last sound.
    pub fn last_sound(&self) -> Option<f64> {
        (0..self.windows.len())
            .rev()
            .find(|&i| self.loud(i))
            .map(|i| (i + 1) as f64 * WINDOW)
    }

    /// Start of the first silence after `from` that lasts at least `min` seconds.
    pub fn silence_after(&self, from: f64, min: f64) -> Option<f64> {
        let need = (min / WINDOW).ceil() as usize;
        let start = (from / WINDOW) as usize;
        let mut run = 0;
        for i in start..self.windows.len() {
            if self.loud(i) {
                run = 0;
            } else {
                run += 1;
                if run >= need {
                    return Some((i + 1 - run) as f64 * WINDOW);
                }
            }
        }
        (run > 0).then(|| (self.windows.len() - run) as f64 * WINDOW)
    }

    /// Silent stretches between `from` and `to` seconds, longest first: (start, length).
    pub fn gaps(&self, from: f64, to: f64) -> Vec<(f64, f64)> {
        let (a, b) = (
            (from / WINDOW) as usize,
            ((to / WINDOW) as usize).min(self.windows.len()),
        );
        let mut gaps = Vec::new();
        let mut run_start = None;
        for i in a..b {
            match (self.loud(i), run_start) {
                (false, None) => run_start = Some(i),
                (true, Some(s)) => {
                    gaps.push((s as f64 * WINDOW, (i - s) as f64 * WINDOW));
                    run_start = None;
                }
                _ => {}
            }
        }
        gaps.sort_by(|x, y| y.1.total_cmp(&x.1));
        gaps
    }
}
