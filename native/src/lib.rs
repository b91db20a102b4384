//! choreo's native core, imported from Python as `choreo._native`.

use pyo3::prelude::*;

/// The crate's version, so Python can check it loaded the extension it was built with.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
