//! Errors in OpenAI's JSON shape with the right status codes:
//! `{"error": {"message": …, "type": …, "param": …, "code": …}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utter_engine::EngineError;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, …).
    pub kind: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
    /// The request field at fault.
    pub param: Option<&'static str>,
    /// A stable code.
    pub code: &'static str,
}

impl ApiError {
    /// 400: a bad field.
    pub fn invalid(param: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            message: message.into(),
            param: Some(param),
            code,
        }
    }

    /// Any status, no field.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            code,
        }
    }

    /// The engine refused or failed.
    pub fn from_engine(e: &EngineError) -> Self {
        match e {
            EngineError::UnknownVoice { .. } | EngineError::BadBlend { .. } => {
                Self::invalid("voice", "unknown_voice", e.to_string())
            }
            EngineError::BadSpeed(_) => Self::invalid("speed", "invalid_speed", e.to_string()),
            EngineError::EmptyText(_) => Self::invalid("input", "empty_input", e.to_string()),
            e if e.is_user_error() => Self::invalid("input", "invalid_input", e.to_string()),
            EngineError::Failed(_) | EngineError::Stopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "engine_unavailable",
                format!("the speech engine is not available: {e}"),
            ),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "synthesis_failed",
                format!("synthesis failed: {e}"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
