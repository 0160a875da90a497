//! Output devices: listing, choosing by name, the system default.

use cpal::traits::HostTrait;
use serde::Serialize;

use crate::AudioError;

/// One output device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Its name, as given to [`crate::PlayerConfig::device`].
    pub name: String,
    /// True for the system default.
    pub is_default: bool,
}

/// Every output device the audio system reports, the default first.
pub fn output_devices() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let default = host.default_output_device().map(|d| d.to_string());
    let mut list: Vec<DeviceInfo> = match host.output_devices() {
        Ok(devices) => devices
            .map(|d| {
                let name = d.to_string();
                DeviceInfo {
                    is_default: Some(&name) == default.as_ref(),
                    name,
                }
            })
            .collect(),
        Err(e) => {
            tracing::warn!("cannot list output devices: {e}");
            Vec::new()
        }
    };
    if let Some(name) = default
        && !list.iter().any(|d| d.name == name)
    {
        list.push(DeviceInfo {
            name,
            is_default: true,
        });
    }
    list.sort_by_key(|d| !d.is_default);
    list
}

/// The device called `name`, or the default when `None`.
pub fn find(name: Option<&str>) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    match name {
        None => host
            .default_output_device()
            .ok_or_else(|| AudioError::NoDevice {
                why: "the system reports no default output".into(),
            }),
        Some(name) => {
            let mut devices = host
                .output_devices()
                .map_err(|e| AudioError::NoDevice { why: e.to_string() })?;
            devices
                .find(|d| d.to_string() == name)
                .ok_or_else(|| AudioError::UnknownDevice {
                    name: name.to_string(),
                    available: output_devices().into_iter().map(|d| d.name).collect(),
                })
        }
    }
}

/// The system default output's name, if there is one.
pub fn default_name() -> Option<String> {
    cpal::default_host()
        .default_output_device()
        .map(|d| d.to_string())
}
