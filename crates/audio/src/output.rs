//! The audio thread: owns the cpal output stream (streams are not `Send` on every platform), builds
//! it with the sample format chosen once, rebuilds it when the device fails or the user picks
//! another, and hands each new stream's ring-buffer producer to the feeder.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use crossbeam_channel::{Receiver, Sender, select};

use crate::callback::render;
use crate::shared::Shared;
use crate::{AudioError, device};

/// Ring buffer length, in seconds of device audio. The feeder keeps it topped up; stop and
/// pause act in the callback, so its length does not slow them.
const RING_SECS: f32 = 0.5;
/// Requested device buffer, in seconds (falls back to the device default if refused).
const DEVICE_BUFFER_SECS: f32 = 0.01;

/// How often the system default is checked for a change (device enumeration is not free).
const FOLLOW_POLL: Duration = Duration::from_secs(2);
/// How often a lost output is retried: speech waiting on it should resume promptly.
const RETRY_LOST: Duration = Duration::from_millis(250);
/// For how long a lost output is retried at [`RETRY_LOST`] before falling back to
/// [`FOLLOW_POLL`].
const RETRY_FAST_FOR: Duration = Duration::from_secs(15);
/// After an error the backend may recover from by itself, how long the callback may stay
/// silent before the stream counts as dead and is rebuilt.
const STALL: Duration = Duration::from_millis(300);
/// How often a stream under suspicion is checked for life.
const STALL_POLL: Duration = Duration::from_millis(20);

/// An error the stream reported, and whether it is certainly fatal.
struct StreamFailure {
    fatal: bool,
    why: String,
}

/// The format of the stream in use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutputFormat {
    /// Device name.
    pub device: String,
    /// Frames per second.
    pub rate: u32,
    /// Channels per frame.
    pub channels: usize,
    /// The device's sample format.
    pub sample_format: String,
}

/// From the audio thread to the feeder.
pub(crate) enum OutputEvent {
    /// A new stream is playing; push into this producer from now on.
    Ready(rtrb::Producer<f32>, OutputFormat),
    /// The output is gone and could not be rebuilt.
    Lost(String),
}

/// To the audio thread.
pub(crate) enum OutputCommand {
    /// Switch to this device (None: follow the system default).
    UseDevice(Option<String>),
    /// End the thread.
    Shutdown,
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: Arc<Shared>,
    errors: Sender<StreamFailure>,
) -> Result<(cpal::Stream, rtrb::Producer<f32>), cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels);
    let capacity = (config.sample_rate as f32 * RING_SECS) as usize * channels;
    let (producer, mut consumer) = rtrb::RingBuffer::<f32>::new(capacity.max(1024));
    let error_shared = Arc::clone(&shared);
    let stream = device.build_output_stream::<T, _, _>(
        config,
        move |out: &mut [T], _| render(out, &mut consumer, &shared, channels),
        move |e: cpal::Error| match e.kind() {
            // Recovered in place by cpal (re-prepare, or rerouted to the new default): a
            // rebuild would only drop what the ring holds.
            cpal::ErrorKind::Xrun => {
                error_shared.device_xruns.fetch_add(1, Ordering::Relaxed);
            }
            cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
            kind => {
                let _ = errors.try_send(StreamFailure {
                    // An error cpal could not classify (ALSA through PulseAudio reports a
                    // passing EIO from snd_pcm_avail_delay, several times right after opening)
                    // leaves cpal's worker running: rebuild only if the callback stops (see
                    // `run`). Rebuilding at once dropped what the ring held, a gap each time.
                    fatal: kind != cpal::ErrorKind::BackendError,
                    why: e.to_string(),
                });
            }
        },
        None,
    )?;
    Ok((stream, producer))
}

/// Builds a playing stream on `name` (or the default), in the device's preferred format.
fn open(
    name: Option<&str>,
    shared: &Arc<Shared>,
    errors: &Sender<StreamFailure>,
) -> Result<(cpal::Stream, rtrb::Producer<f32>, OutputFormat), AudioError> {
    let device = device::find(name)?;
    let supported = device
        .default_output_config()
        .map_err(|e| AudioError::NoDevice { why: e.to_string() })?;
    let format = supported.sample_format();
    let mut config = supported.config();
    let frames = (config.sample_rate as f32 * DEVICE_BUFFER_SECS) as u32;
    let attempt = |config: StreamConfig| {
        let (s, e) = (Arc::clone(shared), errors.clone());
        match format {
            SampleFormat::F32 => build::<f32>(&device, config, s, e),
            SampleFormat::I16 => build::<i16>(&device, config, s, e),
            SampleFormat::U16 => build::<u16>(&device, config, s, e),
            SampleFormat::I32 => build::<i32>(&device, config, s, e),
            SampleFormat::F64 => build::<f64>(&device, config, s, e),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other} is not supported"),
            )),
        }
    };
    config.buffer_size = cpal::BufferSize::Fixed(frames);
    let (stream, producer) = match attempt(config) {
        Ok(built) => built,
        Err(e) => {
            tracing::debug!("a {frames}-frame device buffer was refused ({e}); using the default");
            config.buffer_size = cpal::BufferSize::Default;
            attempt(config).map_err(|e| AudioError::NoDevice { why: e.to_string() })?
        }
    };
    stream
        .play()
        .map_err(|e| AudioError::NoDevice { why: e.to_string() })?;
    let info = OutputFormat {
        device: device.to_string(),
        rate: config.sample_rate,
        channels: usize::from(config.channels),
        sample_format: format.to_string(),
    };
    tracing::info!(?info, "audio output open");
    Ok((stream, producer, info))
}

/// Runs the audio thread. The first open's result goes to `opened` so the player can fail fast;
/// with `wait_for_device`, a failed first open is retried like a lost output.
pub(crate) fn run(
    mut name: Option<String>,
    wait_for_device: bool,
    shared: Arc<Shared>,
    commands: Receiver<OutputCommand>,
    events: Sender<OutputEvent>,
    opened: Sender<Result<OutputFormat, AudioError>>,
) {
    let (err_tx, err_rx) = crossbeam_channel::bounded::<StreamFailure>(4);
    let mut first = Some(opened);
    // Since when there has been no output: retried quickly at first (speech may be waiting),
    // then every few seconds (a machine with no output at all stays cheap).
    let mut lost_at: Option<Instant> = None;
    loop {
        let stream = match open(name.as_deref(), &shared, &err_tx) {
            Ok((stream, producer, info)) => {
                lost_at = None;
                if let Some(opened) = first.take() {
                    let _ = opened.send(Ok(info.clone()));
                }
                let _ = events.send(OutputEvent::Ready(producer, info));
                Some(stream)
            }
            Err(e) => {
                if lost_at.is_none() {
                    tracing::warn!("audio output unavailable: {e}");
                } else {
                    tracing::debug!("audio output still unavailable: {e}");
                }
                lost_at.get_or_insert_with(Instant::now);
                if let Some(opened) = first.take() {
                    let _ = opened.send(Err(e));
                    if !wait_for_device {
                        return;
                    }
                    None
                } else {
                    let _ = events.send(OutputEvent::Lost(e.to_string()));
                    None
                }
            }
        };
        let followed = device::default_name();
        // A soft error seen and the heartbeat then: the stream is rebuilt only if the callback
        // does not run again within STALL.
        let mut suspect: Option<(Instant, u64, String)> = None;
        // Wait for a reason to rebuild.
        loop {
            let wait = match (&stream, lost_at) {
                _ if suspect.is_some() => STALL_POLL,
                (Some(_), _) => FOLLOW_POLL,
                (None, Some(t)) if t.elapsed() > RETRY_FAST_FOR => FOLLOW_POLL,
                (None, _) => RETRY_LOST,
            };
            let mut failed = select! {
                recv(commands) -> cmd => match cmd {
                    Ok(OutputCommand::UseDevice(n)) => { name = n; break; }
                    Ok(OutputCommand::Shutdown) | Err(_) => return,
                },
                recv(err_rx) -> err => match err {
                    Ok(StreamFailure { fatal: false, why }) => {
                        if suspect.is_none() {
                            tracing::debug!("audio output reported: {why}; watching it recover");
                            let beat = shared.callbacks.load(Ordering::Relaxed);
                            suspect = Some((Instant::now(), beat, why));
                        }
                        None
                    }
                    Ok(StreamFailure { why, .. }) => Some(why),
                    Err(_) => return,
                },
                default(wait) => {
                    let changed = || name.is_none() && device::default_name() != followed;
                    if suspect.is_none() && (stream.is_none() || changed()) {
                        break; // retry a lost output, or follow a changed system default
                    }
                    None
                }
            };
            // Checked after every wake-up: a stream that keeps failing keeps the errors coming.
            if failed.is_none()
                && let Some((since, beat, why)) = &suspect
            {
                // Two callbacks since the error (one may have been under way): alive.
                if shared.callbacks.load(Ordering::Relaxed) >= beat + 2 {
                    tracing::debug!("audio output recovered in place");
                    suspect = None;
                } else if since.elapsed() >= STALL {
                    failed = Some(format!("{why}, and the stream stopped"));
                }
            }
            if let Some(why) = failed {
                tracing::warn!("audio output failed ({why}); reopening");
                // The chosen device may be gone (unplugged): continue on the default.
                if name
                    .as_deref()
                    .is_some_and(|n| device::find(Some(n)).is_err())
                {
                    name = None;
                }
                std::thread::sleep(Duration::from_millis(100));
                break;
            }
        }
        drop(stream);
    }
}
