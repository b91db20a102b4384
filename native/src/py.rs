//! The Python face of the core: `Extractor`, `LineDecoder`, `Batch` and the
//! Arrow exports pyarrow imports without copying (PyCapsule interface).
//!
//! Every method body runs under `guard`: a panic that escapes the per-record
//! handling becomes `NativeError`, never a PyO3 PanicException.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PySet, PyString, PyTuple};

use crate::arrow::{export_array, export_schema, ArrayData, DataType, FfiArray, FfiSchema};
use crate::batch::{self, events_type, identifiers_type, panic_text, Added, Raw};
use crate::decode::{self, Format, Notes};
use crate::extract::{self, ConfigIn, Extracted, Header, RecordIn, Scratch};
use crate::isotime::{self, Time};

create_exception!(
    _native,
    NativeError,
    PyRuntimeError,
    "An internal error of the native core (a bug): the call did nothing."
);

/// Run `f`, turning a panic into NativeError.
pub(crate) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => Err(NativeError::new_err(format!(
            "internal error in choreo's native core: {}",
            panic_text(&*panic)
        ))),
    }
}

fn slice(data: &[u8], begin: usize, end: usize) -> PyResult<&[u8]> {
    data.get(begin..end).ok_or_else(|| {
        PyValueError::new_err(format!("no bytes {begin}..{end} in {} bytes", data.len()))
    })
}

fn notes_dict<'py>(py: Python<'py>, notes: &Notes) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (what, n) in &notes.0 {
        d.set_item(what, n)?;
    }
    Ok(d)
}

/// Text of a Python str; lone surrogates (which no decoder makes) as U+FFFD.
fn text<'a>(s: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    let s = s
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} is not a str")))?;
    Ok(match s.to_str() {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => Cow::Owned(s.to_string_lossy().into_owned()),
    })
}

fn opt_bytes<'a>(v: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Option<&'a [u8]>> {
    if v.is_none() {
        return Ok(None);
    }
    v.cast::<PyBytes>()
        .map(|b| Some(b.as_bytes()))
        .map_err(|_| PyTypeError::new_err(format!("{what} is not bytes or None")))
}

/// A header's (name, value) objects; the name is None where confluent-kafka
/// left a hole (see `message_headers`).
type HeaderObjects<'py> = Vec<(Option<Bound<'py, PyAny>>, Bound<'py, PyAny>)>;

/// Headers as Python gives them (None, or (name, value) pairs), as objects.
fn header_objects<'py>(v: &Bound<'py, PyAny>) -> PyResult<HeaderObjects<'py>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
    let py = v.py();
    let mut out = Vec::new();
    for item in v.try_iter()? {
        let item = item?;
        let bad = || PyTypeError::new_err("a header is not a (name, value) tuple");
        let pair = item.cast::<PyTuple>().map_err(|_| bad())?;
        if pair.len() != 2 {
            return Err(bad());
        }
        // SAFETY: `pair` is a tuple we hold a reference to and 0 is below its
        // length; PyTuple_GetItem then returns a borrowed reference, or NULL
        // without an error where the slot is empty, checked before use.
        let name = unsafe { pyo3::ffi::PyTuple_GetItem(pair.as_ptr(), 0) };
        let name = (!name.is_null()).then(|| {
            // SAFETY: a non-NULL borrowed reference from a tuple we keep alive.
            unsafe { Bound::from_borrowed_ptr(py, name) }
        });
        out.push((name, pair.get_item(1)?));
    }
    Ok(out)
}

type HeaderView<'a> = Vec<(Cow<'a, str>, Option<&'a [u8]>)>;

/// The headers' text names and byte values, borrowed from their objects.
fn header_view<'a>(objs: &'a HeaderObjects<'_>) -> PyResult<HeaderView<'a>> {
    objs.iter()
        .map(|(n, v)| {
            let name = match n {
                Some(n) => text(n, "a header name")?,
                None => Cow::Borrowed("\u{FFFD}"),
            };
            Ok((name, opt_bytes(v, "a header value")?))
        })
        .collect()
}

/// A consumed message's headers. confluent-kafka cannot decode a header
/// name that is not UTF-8: `headers()` raises SystemError, keeping the list
/// it was building with a hole for that name, which the next call returns.
/// Such a name is stored as U+FFFD; the other headers as they are.
fn message_headers<'py>(m: &Bound<'py, PyAny>) -> (Bound<'py, PyAny>, bool) {
    let py = m.py();
    match m.call_method0(intern!(py, "headers")) {
        Ok(h) => (h, false),
        Err(_) => (
            m.call_method0(intern!(py, "headers"))
                .unwrap_or_else(|_| py.None().into_bound(py)),
            true,
        ),
    }
}

#[pyclass(module = "choreo._native", name = "Extractor", frozen)]
pub struct PyExtractor {
    inner: Arc<extract::Extractor>,
}

#[pymethods]
impl PyExtractor {
    /// Raises ValueError naming the [extract] key of a source that is not one.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (identifier_paths, identifier_headers, key_is_identifier, auto_id_fields, max_depth,
        type_from, service_from, event_id_from, causation_from, time_from, ignore_identifiers))]
    fn new(
        identifier_paths: Vec<String>,
        identifier_headers: Vec<String>,
        key_is_identifier: bool,
        auto_id_fields: bool,
        max_depth: u32,
        type_from: Vec<String>,
        service_from: Vec<String>,
        event_id_from: Vec<String>,
        causation_from: Vec<String>,
        time_from: Vec<String>,
        ignore_identifiers: Vec<String>,
    ) -> PyResult<Self> {
        guard(|| {
            let cfg = ConfigIn {
                identifier_paths,
                identifier_headers,
                key_is_identifier,
                auto_id_fields,
                max_depth,
                sources: [
                    type_from,
                    service_from,
                    event_id_from,
                    causation_from,
                    time_from,
                ],
                ignore_identifiers,
            };
            let inner = extract::Extractor::new(&cfg).map_err(PyValueError::new_err)?;
            Ok(Self {
                inner: Arc::new(inner),
            })
        })
    }

    /// Extract a list of (topic, key, headers, payload) records; one tuple each:
    /// (event_type, service, event_id, causation_id, trace_id, event_time_ms,
    /// payload_kind, identifiers, event time out of range).
    fn extract<'py>(
        &self,
        py: Python<'py>,
        records: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyList>> {
        guard(|| {
            let out = PyList::empty(py);
            let mut scratch = Scratch::default();
            let mut ex = Extracted::default();
            for rec in records.iter() {
                let t = rec.cast::<PyTuple>()?;
                if t.len() != 4 {
                    return Err(PyTypeError::new_err(
                        "a record is (topic, key, headers, payload)",
                    ));
                }
                let topic_obj = t.get_item(0)?;
                let key_obj = t.get_item(1)?;
                let hdr_obj = t.get_item(2)?;
                let payload_obj = t.get_item(3)?;
                let topic = text(&topic_obj, "topic")?;
                let hobjs = header_objects(&hdr_obj)?;
                let hs = header_view(&hobjs)?;
                let headers: Vec<Header<'_>> = hs
                    .iter()
                    .map(|(n, v)| Header { name: n, value: *v })
                    .collect();
                let rin = RecordIn {
                    topic: &topic,
                    key: opt_bytes(&key_obj, "key")?,
                    headers: &headers,
                    payload: opt_bytes(&payload_obj, "payload")?,
                };
                self.inner.extract(&rin, &mut scratch, &mut ex);
                let ids = PyList::empty(py);
                for (n, v) in ex.ids.iter() {
                    ids.append((n, v))?;
                }
                let ms = match ex.time {
                    Time::Ms(ms) => Some(ms),
                    _ => None,
                };
                out.append((
                    &ex.event_type,
                    &ex.service,
                    &ex.event_id,
                    &ex.causation_id,
                    &ex.trace_id,
                    ms,
                    ex.kind.as_str(),
                    ids,
                    ex.time == Time::OutOfRange,
                ))?;
            }
            Ok(out)
        })
    }
}

/// How lines of one input are read.
#[pyclass(module = "choreo._native", frozen)]
pub struct LineDecoder {
    format: Format,
}

#[pymethods]
impl LineDecoder {
    /// `format`: "kcat", "choreo" or "plain" (with the plain lines' topic and time field).
    #[new]
    #[pyo3(signature = (format, topic=None, time_field=None))]
    fn new(format: &str, topic: Option<&str>, time_field: Option<&str>) -> PyResult<Self> {
        let format = match format {
            "kcat" => Format::Kcat,
            "choreo" => Format::Choreo,
            "plain" => Format::plain(topic.unwrap_or("stdin"), time_field),
            other => return Err(PyValueError::new_err(format!("no line format {other:?}"))),
        };
        Ok(Self { format })
    }

    /// Decode whole lines without storing them: (lines, [(line number, why)]).
    fn check<'py>(
        &self,
        py: Python<'py>,
        data: PyBackedBytes,
        first_lineno: i64,
        begin: usize,
        end: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            let format = &self.format;
            let part = slice(&data, begin, end)?;
            let (lines, bad) = py.detach(|| {
                let mut bad = Vec::new();
                let lines = batch::check_lines(format, part, first_lineno, &mut bad);
                (lines, bad)
            });
            (lines, bad).into_pyobject(py)
        })
    }
}

/// Records accumulated for one store append (see collector/batch.py).
#[pyclass(module = "choreo._native", name = "Batch")]
pub struct PyBatch {
    inner: batch::Batch,
}

fn added_tuple<'py>(py: Python<'py>, added: &Added) -> PyResult<(u64, u64, Bound<'py, PyDict>)> {
    Ok((added.records, added.poison, notes_dict(py, &added.notes)?))
}

#[pymethods]
impl PyBatch {
    #[new]
    fn new(extractor: &PyExtractor, source: &str) -> Self {
        Self {
            inner: batch::Batch::new(extractor.inner.clone(), source),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Raw bytes held (keys, payloads, header names and values, topics).
    #[getter]
    fn nbytes(&self) -> usize {
        self.inner.nbytes()
    }

    /// Decode the whole lines `data[begin:end]` and add their records, at
    /// most `max_records`: (lines, where the lines read end in `data`,
    /// records, poison, [(line number, why)], notes). Runs without the GIL.
    #[allow(clippy::too_many_arguments)]
    fn add_lines<'py>(
        &mut self,
        py: Python<'py>,
        decoder: &LineDecoder,
        data: PyBackedBytes,
        first_lineno: i64,
        begin: usize,
        end: usize,
        max_records: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            let format = &decoder.format;
            let inner = &mut self.inner;
            let part = slice(&data, begin, end)?;
            let (lines, used, bad, added) = py.detach(|| {
                let mut bad = Vec::new();
                let mut added = Added::default();
                let (lines, used) = inner.add_lines(
                    format,
                    part,
                    first_lineno,
                    max_records,
                    &mut bad,
                    &mut added,
                );
                (lines, used, bad, added)
            });
            let (records, poison, notes) = added_tuple(py, &added)?;
            (lines, begin + used, records, poison, bad, notes).into_pyobject(py)
        })
    }

    /// Add (topic, partition, offset, ts_ms, ts_type, key, headers, payload)
    /// records: (records, poison, notes).
    fn add_records<'py>(
        &mut self,
        py: Python<'py>,
        records: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            let mut added = Added::default();
            for rec in records.iter() {
                let t = rec.cast::<PyTuple>()?;
                if t.len() != 8 {
                    return Err(PyTypeError::new_err(
                        "a record is (topic, partition, offset, ts_ms, ts_type, key, headers, payload)",
                    ));
                }
                let items: Vec<Bound<'_, PyAny>> = t.iter().collect();
                let topic = text(&items[0], "topic")?;
                let hobjs = header_objects(&items[6])?;
                let hs = header_view(&hobjs)?;
                let headers: Vec<Header<'_>> = hs
                    .iter()
                    .map(|(n, v)| Header { name: n, value: *v })
                    .collect();
                let raw = Raw {
                    topic: &topic,
                    partition: items[1].extract()?,
                    offset: items[2].extract()?,
                    ts: items[3].extract()?,
                    ts_type: items[4].extract()?,
                    key: opt_bytes(&items[5], "key")?,
                    headers: &headers,
                    payload: opt_bytes(&items[7], "payload")?,
                };
                self.inner.add(&raw, &mut added);
            }
            added_tuple(py, &added)?.into_pyobject(py)
        })
    }

    /// Add consumed confluent-kafka messages of the partitions in `assigned`;
    /// `skip_before` (per partition, --from TIME) passes over older records.
    /// Returns (taken, poison, next offset per partition, partitions whose
    /// skipping ended, message errors, notes).
    fn add_messages<'py>(
        &mut self,
        py: Python<'py>,
        messages: &Bound<'py, PyList>,
        assigned: &Bound<'py, PySet>,
        skip_before: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            let mut owned: HashSet<(String, i32)> = HashSet::with_capacity(assigned.len());
            for tp in assigned.iter() {
                owned.insert(tp.extract()?);
            }
            let mut skip: HashMap<(String, i32), i64> = HashMap::new();
            for (k, v) in skip_before.iter() {
                skip.insert(k.extract()?, v.extract()?);
            }
            let mut next: HashMap<(String, i32), i64> = HashMap::new();
            let mut passed: Vec<(String, i32)> = Vec::new();
            let errors = PyList::empty(py);
            let mut added = Added::default();
            let mut last: Option<(String, i32)> = None;
            let mut last_owned = false;
            for m in messages.iter() {
                let err = m.call_method0(intern!(py, "error"))?;
                if !err.is_none() {
                    errors.append(err)?;
                    continue;
                }
                let topic_obj = m.call_method0(intern!(py, "topic"))?;
                let topic = text(&topic_obj, "topic")?;
                let partition: i32 = m.call_method0(intern!(py, "partition"))?.extract()?;
                // Messages come in runs of one partition: check ownership once per run.
                let same = last
                    .as_ref()
                    .is_some_and(|(t, p)| *p == partition && **t == *topic);
                if !same {
                    let tp = (topic.to_string(), partition);
                    last_owned = owned.contains(&tp);
                    last = Some(tp);
                }
                if !last_owned {
                    // Fetched before a rebalance took the partition away: its new
                    // owner reads it from our last commit.
                    continue;
                }
                let tp = last
                    .as_ref()
                    .map(|(t, p)| (t.clone(), *p))
                    .unwrap_or_default();
                let offset: i64 = m.call_method0(intern!(py, "offset"))?.extract()?;
                let (ts_type, ts): (i8, i64) =
                    m.call_method0(intern!(py, "timestamp"))?.extract()?;
                if let Some(&before) = skip.get(&tp) {
                    if ts_type != 0 && ts < before {
                        next.insert(tp, offset + 1); // read and passed over: committable
                        continue;
                    }
                    skip.remove(&tp);
                    passed.push(tp.clone());
                }
                let key_obj = m.call_method0(intern!(py, "key"))?;
                let value_obj = m.call_method0(intern!(py, "value"))?;
                let (hdr_obj, unreadable) = message_headers(&m);
                if unreadable {
                    added.notes.add(NOTE_HEADERS_UNREADABLE, 1);
                }
                let hobjs = header_objects(&hdr_obj)?;
                let hs = header_view(&hobjs)?;
                let headers: Vec<Header<'_>> = hs
                    .iter()
                    .map(|(n, v)| Header { name: n, value: *v })
                    .collect();
                let raw = Raw {
                    topic: &topic,
                    partition,
                    offset,
                    ts: (ts_type != 0).then_some(ts),
                    ts_type,
                    key: opt_bytes(&key_obj, "key")?,
                    headers: &headers,
                    payload: opt_bytes(&value_obj, "value")?,
                };
                self.inner.add(&raw, &mut added);
                next.insert(tp, offset + 1);
            }
            let next_d = PyDict::new(py);
            for ((t, p), off) in next {
                next_d.set_item((t, p), off)?;
            }
            (
                added.records,
                added.poison,
                next_d,
                passed,
                errors,
                notes_dict(py, &added.notes)?,
            )
                .into_pyobject(py)
        })
    }

    /// Everything held as [(events, identifiers)] Arrow exports, one pair per
    /// chunk; `ingested_ms` fills events.ingested_ms. The batch is empty after.
    fn take<'py>(&mut self, py: Python<'py>, ingested_ms: i64) -> PyResult<Bound<'py, PyList>> {
        guard(|| {
            let out = PyList::empty(py);
            for (events, ids) in self.inner.take(ingested_ms) {
                let e = Py::new(py, ArrowExport::new(events_type(), events))?;
                let i = Py::new(py, ArrowExport::new(identifiers_type(), ids))?;
                out.append((e, i))?;
            }
            Ok(out)
        })
    }

    fn clear(&mut self) {
        self.inner.clear();
    }
}

pub const NOTE_HEADERS_UNREADABLE: &str =
    "a header name is not UTF-8 (stored as U+FFFD: the consumer library cannot give its bytes)";

/// A record batch (struct array) for pyarrow: `pa.record_batch(export)`.
#[pyclass(module = "choreo._native")]
pub struct ArrowExport {
    dtype: DataType,
    data: Option<ArrayData>,
}

impl ArrowExport {
    fn new(dtype: DataType, data: ArrayData) -> Self {
        Self {
            dtype,
            data: Some(data),
        }
    }
}

fn schema_capsule<'py>(py: Python<'py>, dtype: &DataType) -> PyResult<Bound<'py, PyCapsule>> {
    let schema: FfiSchema = export_schema("", dtype, false);
    PyCapsule::new_with_value_and_destructor(py, schema, c"arrow_schema", |s, _| drop(s))
}

#[pymethods]
impl ArrowExport {
    /// The Arrow PyCapsule interface; the data can be taken once.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema; // always exported as built
        let data = self
            .data
            .take()
            .ok_or_else(|| PyValueError::new_err("this Arrow export was already taken"))?;
        let schema = schema_capsule(py, &self.dtype)?;
        let array: FfiArray = export_array(data);
        let array =
            PyCapsule::new_with_value_and_destructor(py, array, c"arrow_array", |a, _| drop(a))?;
        Ok((schema, array))
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        schema_capsule(py, &self.dtype)
    }
}

/// The events and identifiers schemas (for an empty table of either).
#[pyfunction]
fn schemas(py: Python<'_>) -> PyResult<(Py<ArrowExport>, Py<ArrowExport>)> {
    let empty = |dtype: DataType| ArrowExport { dtype, data: None };
    Ok((
        Py::new(py, empty(events_type()))?,
        Py::new(py, empty(identifiers_type()))?,
    ))
}

/// `parse_time_ms`: ISO-8601 text with an offset, or epoch s/ms/µs, to ms;
/// None when it is no time or past 64-bit milliseconds.
#[pyfunction]
fn parse_time_ms(value: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    guard(|| {
        let t = if value.is_instance_of::<pyo3::types::PyBool>() {
            Time::None
        } else if let Ok(s) = value.cast::<PyString>() {
            let b = s.to_string_lossy();
            isotime::from_iso(b.as_bytes())
        } else if value.is_instance_of::<pyo3::types::PyInt>()
            || value.is_instance_of::<pyo3::types::PyFloat>()
        {
            // An int past a double's range is past any time too.
            isotime::from_f64(value.extract::<f64>().unwrap_or(f64::INFINITY))
        } else {
            Time::None
        };
        Ok(match t {
            Time::Ms(ms) => Some(ms),
            _ => None,
        })
    })
}

/// The dump format a line's JSON says it is in: "kcat", "choreo", "plain"
/// (any other object), or None (not a JSON object).
#[pyfunction]
fn line_format(line: &[u8]) -> PyResult<Option<&'static str>> {
    guard(|| {
        let mut parser = crate::json::Parser::new();
        let Ok(doc) = decode::parse_line(&mut parser, line) else {
            return Ok(None);
        };
        Ok(decode::classify(&doc))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Panics are caught and reported (notes, bad lines, NativeError); the
    // default hook would also print them to stderr, under a progress bar.
    std::panic::set_hook(Box::new(|_| {}));
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_class::<PyExtractor>()?;
    m.add_class::<LineDecoder>()?;
    m.add_class::<PyBatch>()?;
    m.add_class::<ArrowExport>()?;
    m.add_function(wrap_pyfunction!(schemas, m)?)?;
    m.add_function(wrap_pyfunction!(parse_time_ms, m)?)?;
    m.add_function(wrap_pyfunction!(line_format, m)?)?;
    Ok(())
}
