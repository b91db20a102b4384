//! The Python face of `groups`: numpy arrays in and out through the buffer
//! protocol (no copies), the work done with the GIL released.

use std::ops::Range;

use pyo3::buffer::{Element, PyBuffer};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::groups::{self, BadInput};
use crate::levels as lv;
use crate::py::guard;

fn checked<T: Element>(buf: &PyBuffer<T>, what: &str, write: bool) -> PyResult<Range<usize>> {
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{what} is not a contiguous array"
        )));
    }
    if write && buf.readonly() {
        return Err(PyValueError::new_err(format!("{what} is read-only")));
    }
    let start = buf.buf_ptr() as usize;
    Ok(start..start + buf.len_bytes())
}

/// The array's items, for the length of the call.
fn items<'a, T: Element>(buf: &'a PyBuffer<T>, what: &str) -> PyResult<&'a [T]> {
    checked(buf, what, false)?;
    let ptr = buf
        .as_slice_ptr()
        .ok_or_else(|| PyValueError::new_err(format!("{what} is not a contiguous array")))?;
    // SAFETY: the buffer is C-contiguous with items of T's size and format
    // (checked by PyBuffer<T> and above), and `buf` holds the exporter's
    // buffer (numpy cannot resize or free an array while it is exported)
    // for as long as the returned borrow lives. The engine passes arrays it
    // made for this call and shares with no other thread, so nothing
    // writes them meanwhile, though the GIL is released.
    Ok(unsafe { ptr.as_ref() })
}

/// The array's items to write, for the length of the call; it must not
/// overlap any of `inputs` (checked: one array both read and written would
/// alias).
fn items_mut<'a, T: Element>(
    buf: &'a mut PyBuffer<T>,
    what: &str,
    inputs: &[Range<usize>],
) -> PyResult<&'a mut [T]> {
    let range = checked(buf, what, true)?;
    if inputs
        .iter()
        .any(|r| r.start < range.end && range.start < r.end && !range.is_empty() && !r.is_empty())
    {
        return Err(PyValueError::new_err(format!(
            "{what} overlaps an input array"
        )));
    }
    let mut ptr = buf
        .as_slice_ptr()
        .ok_or_else(|| PyValueError::new_err(format!("{what} is not a contiguous array")))?;
    // SAFETY: as in `items`, and the buffer is writable; no other slice of
    // this call overlaps it (checked above) and `buf` is borrowed mutably,
    // so this is the only reference to its memory while the borrow lives.
    Ok(unsafe { ptr.as_mut() })
}

fn range_of<T: Element>(buf: &PyBuffer<T>, what: &str) -> PyResult<Range<usize>> {
    checked(buf, what, false)
}

fn to_py<T>(r: Result<T, BadInput>) -> PyResult<T> {
    r.map_err(|BadInput(what)| PyValueError::new_err(what))
}

/// Connected components of events linked by values and causation (see
/// `groups::components`); fills `out` (one int64 per event), returns their number.
#[pyfunction]
fn components(
    py: Python<'_>,
    eid: PyBuffer<i64>,
    vid: PyBuffer<i32>,
    child: PyBuffer<i64>,
    parent: PyBuffer<i64>,
    mut out: PyBuffer<i64>,
) -> PyResult<usize> {
    guard(|| {
        let inputs = [
            range_of(&eid, "eid")?,
            range_of(&vid, "vid")?,
            range_of(&child, "child")?,
            range_of(&parent, "parent")?,
        ];
        let (e, v) = (items(&eid, "eid")?, items(&vid, "vid")?);
        let (c, p) = (items(&child, "child")?, items(&parent, "parent")?);
        let o = items_mut(&mut out, "out", &inputs)?;
        to_py(py.detach(|| groups::components(e, v, c, p, o)))
    })
}

/// The previous original of the same instance in the same topic-partition
/// (see `groups::partition_chain`); `original` as one byte per event.
#[pyfunction]
fn partition_chain(
    py: Python<'_>,
    comp: PyBuffer<i64>,
    tp: PyBuffer<i64>,
    offset: PyBuffer<i64>,
    original: PyBuffer<u8>,
    mut prev: PyBuffer<i64>,
) -> PyResult<()> {
    guard(|| {
        let inputs = [
            range_of(&comp, "comp")?,
            range_of(&tp, "tp")?,
            range_of(&offset, "offset")?,
            range_of(&original, "original")?,
        ];
        let (c, t) = (items(&comp, "comp")?, items(&tp, "tp")?);
        let (o, orig) = (items(&offset, "offset")?, items(&original, "original")?);
        let out = items_mut(&mut prev, "prev", &inputs)?;
        to_py(py.detach(|| {
            let flags: Vec<bool> = orig.iter().map(|&b| b != 0).collect();
            groups::partition_chain(c, t, o, &flags, out)
        }))
    })
}

/// `first` stably sorted by the group of each position, groups in
/// `0..n_groups` (see `groups::stable_by_group`).
#[pyfunction]
fn stable_by_group(
    py: Python<'_>,
    group: PyBuffer<i64>,
    first: PyBuffer<i64>,
    n_groups: usize,
    mut out: PyBuffer<i64>,
) -> PyResult<()> {
    guard(|| {
        let inputs = [range_of(&group, "group")?, range_of(&first, "first")?];
        let (g, f) = (items(&group, "group")?, items(&first, "first")?);
        let o = items_mut(&mut out, "out", &inputs)?;
        to_py(py.detach(|| groups::stable_by_group(g, f, n_groups, o)))
    })
}

/// Adjusted time, depth and released flag of every node over the DAG of
/// order constraints (see `levels.rs`): `kinds`, one int64 array per kind
/// of constraint (the first `n_hard` certain); flags as one byte each.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn levels(
    py: Python<'_>,
    cts: PyBuffer<i64>,
    service: PyBuffer<i64>,
    original: PyBuffer<u8>,
    kinds: Vec<PyBuffer<i64>>,
    n_hard: usize,
    mut adj: PyBuffer<i64>,
    mut depth: PyBuffer<i64>,
    mut released: PyBuffer<u8>,
) -> PyResult<()> {
    guard(|| {
        let mut inputs = vec![
            range_of(&cts, "cts")?,
            range_of(&service, "service")?,
            range_of(&original, "original")?,
        ];
        for k in &kinds {
            inputs.push(range_of(k, "constraint")?);
        }
        let (c, s, o) = (
            items(&cts, "cts")?,
            items(&service, "service")?,
            items(&original, "original")?,
        );
        let ks = kinds
            .iter()
            .map(|k| items(k, "constraint"))
            .collect::<PyResult<Vec<&[i64]>>>()?;
        let (ra, rd) = (range_of(&adj, "adj")?, range_of(&depth, "depth")?);
        let a = items_mut(&mut adj, "adj", &inputs)?;
        inputs.push(ra);
        let d = items_mut(&mut depth, "depth", &inputs)?;
        inputs.push(rd);
        let r = items_mut(&mut released, "released", &inputs)?;
        to_py(py.detach(|| {
            let original: Vec<bool> = o.iter().map(|&b| b != 0).collect();
            let g = lv::Levels {
                cts: c,
                service: s,
                original: &original,
                kinds: &ks,
                n_hard,
            };
            let mut rel = vec![false; r.len()];
            lv::levels(&g, a, d, &mut rel)?;
            for (out, &f) in r.iter_mut().zip(&rel) {
                *out = u8::from(f);
            }
            Ok(())
        }))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(components, m)?)?;
    m.add_function(wrap_pyfunction!(partition_chain, m)?)?;
    m.add_function(wrap_pyfunction!(stable_by_group, m)?)?;
    m.add_function(wrap_pyfunction!(levels, m)?)?;
    Ok(())
}
