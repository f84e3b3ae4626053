//! What a `#[vnet_test]` expansion calls: set up a fresh instance named after
//! the test, run the body with it current (every poll, for an async body),
//! and destroy it afterwards, also when the body panics.
//!
//! The macro crate only generates the call; everything that happens at run
//! time is here.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::task::Poll;

use crate::future::VnetFutureExt;
use crate::module;
use crate::Vnet;

/// What the attribute knows about its test, written by the expansion.
#[doc(hidden)]
#[derive(Debug)]
pub struct VnetTestSpec {
    /// `module_path!()` where the test is defined.
    pub module_path: &'static str,
    /// The test function's name.
    pub test: &'static str,
    /// `name = "..."`: the instance's name, instead of the test's path.
    pub name: Option<&'static str>,
    /// `modules(...)`: modules loaded before the instance is created.
    pub modules: &'static [&'static str],
}

impl VnetTestSpec {
    /// The test's path as the test harness prints it (without the crate).
    fn test_path(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_crate, path)) => format!("{path}::{}", self.test),
            None => self.test.to_owned(),
        }
    }
}

/// A test's instance, from set-up to destruction. Dropped without
/// [`TestInstance::finish`] (a cancelled async test, a panic outside the
/// body), it still destroys the instance.
struct TestInstance {
    vnet: Option<Vnet>,
    test: String,
    name: String,
}

impl TestInstance {
    #[track_caller]
    fn set_up(spec: &VnetTestSpec, parent: Option<Vnet>) -> TestInstance {
        let test = spec.test_path();
        crate::boot();
        for module in spec.modules {
            ensure_loaded(module, &test);
        }
        #[cfg(feature = "vimage")]
        {
            let name = spec.name.map_or_else(|| test.clone(), str::to_owned);
            let mut builder = Vnet::builder(&name);
            if let Some(parent) = &parent {
                builder = builder.parent(parent);
            }
            let vnet = builder.create().unwrap_or_else(|err| {
                panic!("#[vnet_test] `{test}`: cannot create its vnet `{name}`: {err}")
            });
            TestInstance {
                vnet: Some(vnet),
                test,
                name,
            }
        }
        #[cfg(not(feature = "vimage"))]
        {
            // One instance only: the test runs on vnet0, shared by all tests.
            let _ = parent;
            TestInstance {
                vnet: Some(crate::vnet0()),
                test,
                name: "vnet0".to_owned(),
            }
        }
    }

    fn vnet(&self) -> &Vnet {
        self.vnet.as_ref().expect("the instance is set up")
    }

    /// Destroys the instance (waiting a little while a thread or task the
    /// test started still has it current) and says what went wrong, if
    /// anything.
    fn destroy(&mut self) -> Result<(), String> {
        let Some(vnet) = self.vnet.take() else {
            return Ok(());
        };
        if !crate::VIMAGE {
            return Ok(());
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let attempt = panic::catch_unwind(AssertUnwindSafe(|| {
                vnet.clone()
                    .destroy()
                    .map_err(crate::DestroyError::into_error)
            }));
            match attempt {
                Ok(Ok(())) | Ok(Err(crate::Error::Destroyed(_))) => return Ok(()),
                Ok(Err(crate::Error::Busy { .. })) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(Err(err)) => {
                    return Err(format!(
                        "its vnet `{}` could not be destroyed: {err} (join the threads and await \
                         the tasks the test started)",
                        self.name
                    ))
                }
                Err(payload) => {
                    return Err(format!(
                        "destroying its vnet `{}` panicked: {}",
                        self.name,
                        message(&*payload).unwrap_or("(non-string panic payload)")
                    ))
                }
            }
        }
    }

    /// Destroys the instance and hands back the body's outcome: its value,
    /// or its panic, re-raised with a message that names the instance.
    #[track_caller]
    fn finish<R>(mut self, outcome: Result<R, Box<dyn Any + Send>>) -> R {
        let destroyed = self.destroy();
        match outcome {
            Ok(value) => {
                if let Err(why) = destroyed {
                    panic!("#[vnet_test] `{}`: {why}", self.test);
                }
                value
            }
            Err(payload) => {
                let note = match destroyed {
                    Ok(()) if crate::VIMAGE => format!("vnet `{}` destroyed", self.name),
                    Ok(()) => "vnet0: built without `vimage`".to_owned(),
                    Err(why) => why,
                };
                match message(&*payload) {
                    Some(msg) => panic!(
                        "{msg}\n(#[vnet_test] `{}` panicked in vnet `{}`; {note})",
                        self.test, self.name
                    ),
                    None => {
                        eprintln!(
                            "#[vnet_test] `{}` panicked in vnet `{}`; {note}",
                            self.test, self.name
                        );
                        panic::resume_unwind(payload)
                    }
                }
            }
        }
    }
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        if let Err(why) = self.destroy() {
            eprintln!("#[vnet_test] `{}`: {why}", self.test);
        }
    }
}

/// A panic payload's message, when it is a string.
fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Loads `module` unless it is loaded (another test may load it meanwhile).
#[track_caller]
fn ensure_loaded(module: &str, test: &str) {
    if module::is_loaded(module) {
        return;
    }
    if let Err(err) = module::load(module) {
        if !module::is_loaded(module) {
            panic!("#[vnet_test] `{test}` needs module `{module}`, which cannot be loaded: {err}");
        }
    }
}

/// Runs a `#[vnet_test]` body in a fresh instance (see the attribute).
#[doc(hidden)]
#[track_caller]
pub fn vnet_test_run<R>(spec: &VnetTestSpec, parent: Option<Vnet>, body: fn() -> R) -> R {
    let instance = TestInstance::set_up(spec, parent);
    let outcome = {
        let _guard = crate::curvnet_set(instance.vnet());
        panic::catch_unwind(body)
    };
    instance.finish(outcome)
}

/// Runs an async `#[vnet_test]` body in a fresh instance: every poll of the
/// body, on whatever thread polls it, runs with the instance current.
#[doc(hidden)]
pub async fn vnet_test_run_async<F: Future>(
    spec: &'static VnetTestSpec,
    parent: Option<Vnet>,
    body: F,
) -> F::Output {
    let instance = TestInstance::set_up(spec, parent);
    let mut bound = Box::pin(body.in_vnet(instance.vnet()));
    let outcome = std::future::poll_fn(|cx| {
        match panic::catch_unwind(AssertUnwindSafe(|| bound.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await;
    // The body's locals are dropped in the instance, before it goes.
    drop(bound);
    instance.finish(outcome)
}
