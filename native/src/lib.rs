//! choreo's native core, imported from Python as `choreo._native`: the
//! per-record path (dump line decoding, payload parsing, poison
//! classification, extraction, Arrow columns for the store), and the
//! grouping passes of reconstruction numpy can only do by sorting (`groups`).
//!
//! Python calls it once per batch of records. No panic crosses into Python:
//! a panic while handling one record makes that record a bad line or a
//! record stored without its extracted fields (noted); a panic anywhere else
//! in a call becomes `NativeError`.

pub mod arrow;
pub mod batch;
pub mod decode;
pub mod extract;
pub mod groups;
pub mod isotime;
pub mod json;
pub mod levels;
pub mod pool;
mod py;
mod py_groups;
pub mod pytext;
mod unicode_tables;

use pyo3::prelude::*;

/// The crate's version, so Python can check it loaded the extension it was built with.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    py::register(m)?;
    py_groups::register(m)
}
