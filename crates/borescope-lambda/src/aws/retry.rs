//! Bounded patience with AWS: retrying conflicts and throttling with exponential backoff and
//! jitter, and waiting for a function's `LastUpdateStatus` to settle between updates.

use super::error::AwsError;
use super::report::{Progress, ProgressFn};
use std::future::Future;
use std::time::Duration;

/// Attempts per call before giving up.
const ATTEMPTS: u32 = 8;
/// The first delay; each later one doubles, up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(250);
/// The longest single delay.
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Runs `call` until it succeeds, fails with something other than a conflict or throttling,
/// or has failed [`ATTEMPTS`] times (then [`AwsError::Busy`]).
pub(crate) async fn retrying<T, F, Fut>(
    progress: &mut ProgressFn<'_>,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(AwsError::Api {
                action,
                resource,
                code,
                message,
            }) if is_busy(&code) => {
                if attempt >= ATTEMPTS {
                    return Err(AwsError::Busy {
                        action,
                        resource,
                        code,
                        message,
                        attempts: attempt,
                    });
                }
                let delay = delay(attempt);
                tracing::debug!(action, %resource, %code, attempt, ?delay, "busy; retrying");
                progress(Progress::Retrying {
                    action: action.to_string(),
                    resource,
                    code,
                    attempt,
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                });
                tokio::time::sleep(delay).await;
            }
            Err(other) => return Err(other),
        }
    }
}

fn is_busy(code: &str) -> bool {
    AwsError::Api {
        action: "",
        resource: String::new(),
        code: code.to_string(),
        message: String::new(),
    }
    .is_busy()
}

/// The delay after the `attempt`-th failure: full exponential step, then a random 50-100 %.
fn delay(attempt: u32) -> Duration {
    let step = BASE_DELAY
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_DELAY);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        f64::from(byte[0]) / 255.0
    } else {
        0.5
    };
    step.mul_f64(0.5 + 0.5 * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        for attempt in 1..=ATTEMPTS {
            let d = delay(attempt);
            let step = BASE_DELAY.saturating_mul(1 << (attempt - 1)).min(MAX_DELAY);
            assert!(
                d >= step / 2 && d <= step,
                "attempt {attempt}: {d:?} outside {step:?}/2..{step:?}"
            );
        }
        assert!(delay(30) <= MAX_DELAY);
    }

    #[tokio::test]
    async fn conflicts_are_retried_then_given_up() {
        tokio::time::pause();
        let mut events = Vec::new();
        let mut calls = 0;
        let result: Result<(), AwsError> = retrying(&mut |p| events.push(p), || {
            calls += 1;
            async {
                Err(AwsError::Api {
                    action: "lambda:UpdateFunctionConfiguration",
                    resource: "f".into(),
                    code: "ResourceConflictException".into(),
                    message: "update in progress".into(),
                })
            }
        })
        .await;
        assert_eq!(calls, ATTEMPTS);
        assert_eq!(events.len(), (ATTEMPTS - 1) as usize);
        let err = result.expect_err("gives up");
        assert!(
            matches!(
                err,
                AwsError::Busy {
                    attempts: ATTEMPTS,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let mut calls = 0;
        let result: Result<(), AwsError> = retrying(&mut |_| {}, || {
            calls += 1;
            async { Err(AwsError::NoRegion) }
        })
        .await;
        assert!(matches!(result, Err(AwsError::NoRegion)));
        assert_eq!(calls, 1);
    }
}
