//! Columns built in Rust and handed to pyarrow without a copy, through the
//! Arrow C data interface (the two C structs of the Arrow spec, and their
//! `release` callbacks that free the Rust buffers when pyarrow is done).
//!
//! Hand-rolled rather than the `arrow` crates: six column types are needed,
//! and the crates would multiply the first build's time.

use std::ffi::{c_char, c_void, CString};

use crate::pool;

/// A column's type (the subset the store's tables use).
#[derive(Clone, Debug)]
pub enum DataType {
    Utf8,
    Binary,
    Int8,
    Int32,
    Int64,
    List(Box<Field>),
    Struct(Vec<Field>),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub dtype: DataType,
}

impl DataType {
    fn format(&self) -> &'static str {
        match self {
            DataType::Utf8 => "u",
            DataType::Binary => "z",
            DataType::Int8 => "c",
            DataType::Int32 => "i",
            DataType::Int64 => "l",
            DataType::List(_) => "+l",
            DataType::Struct(_) => "+s",
        }
    }

    fn children(&self) -> Vec<Field> {
        match self {
            DataType::List(f) => vec![(**f).clone()],
            DataType::Struct(fs) => fs.clone(),
            _ => Vec::new(),
        }
    }
}

/// A buffer of an array, owned until pyarrow releases it.
pub enum Buffer {
    Bytes(Vec<u8>),
    I8(Vec<i8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // Kept for the next batch's columns (see pool).
        match self {
            Buffer::Bytes(v) => pool::give(std::mem::take(v)),
            Buffer::I8(v) => pool::give(std::mem::take(v)),
            Buffer::I32(v) => pool::give(std::mem::take(v)),
            Buffer::I64(v) => pool::give(std::mem::take(v)),
        }
    }
}

impl Buffer {
    fn ptr(&self) -> *const c_void {
        match self {
            Buffer::Bytes(v) => v.as_ptr().cast(),
            Buffer::I8(v) => v.as_ptr().cast(),
            Buffer::I32(v) => v.as_ptr().cast(),
            Buffer::I64(v) => v.as_ptr().cast(),
        }
    }

    pub fn len_bytes(&self) -> usize {
        match self {
            Buffer::Bytes(v) => v.len(),
            Buffer::I8(v) => v.len(),
            Buffer::I32(v) => v.len() * 4,
            Buffer::I64(v) => v.len() * 8,
        }
    }
}

/// An array's data: buffers in the order the format defines, then children.
pub struct ArrayData {
    pub len: usize,
    pub null_count: usize,
    /// `None` for an absent validity bitmap (no nulls).
    pub buffers: Vec<Option<Buffer>>,
    pub children: Vec<ArrayData>,
}

impl ArrayData {
    pub fn nbytes(&self) -> usize {
        self.buffers
            .iter()
            .flatten()
            .map(Buffer::len_bytes)
            .sum::<usize>()
            + self.children.iter().map(ArrayData::nbytes).sum::<usize>()
    }
}

#[repr(C)]
pub struct FfiSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut FfiSchema,
    dictionary: *mut FfiSchema,
    release: Option<unsafe extern "C" fn(*mut FfiSchema)>,
    private_data: *mut c_void,
}

#[repr(C)]
pub struct FfiArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArray,
    dictionary: *mut FfiArray,
    release: Option<unsafe extern "C" fn(*mut FfiArray)>,
    private_data: *mut c_void,
}

// SAFETY: the structs own their private data (plain Rust buffers, no thread
// affinity); the C data interface allows releasing them from any thread.
unsafe impl Send for FfiSchema {}
unsafe impl Send for FfiArray {}

const FLAG_NULLABLE: i64 = 2;

struct SchemaPrivate {
    _format: CString,
    _name: CString,
    children: Vec<*mut FfiSchema>,
}

unsafe extern "C" fn release_schema(schema: *mut FfiSchema) {
    if schema.is_null() {
        return;
    }
    // SAFETY: `schema` was filled by `export_schema`, whose private data is a
    // boxed SchemaPrivate and whose children are boxed FfiSchemas; the spec
    // guarantees release is called once (it is cleared below).
    unsafe {
        let s = &mut *schema;
        let private = Box::from_raw(s.private_data as *mut SchemaPrivate);
        for &child in &private.children {
            if let Some(release) = (*child).release {
                release(child);
            }
            drop(Box::from_raw(child));
        }
        s.release = None;
    }
}

/// The C schema of a field; a record batch is a (non-nullable) struct of its columns.
pub fn export_schema(name: &str, dtype: &DataType, nullable: bool) -> FfiSchema {
    let children: Vec<*mut FfiSchema> = dtype
        .children()
        .iter()
        .map(|f| Box::into_raw(Box::new(export_schema(f.name, &f.dtype, true))))
        .collect();
    let format = CString::new(dtype.format()).unwrap_or_default();
    let cname = CString::new(name).unwrap_or_default();
    let mut private = Box::new(SchemaPrivate {
        _format: format,
        _name: cname,
        children,
    });
    FfiSchema {
        format: private._format.as_ptr(),
        name: private._name.as_ptr(),
        metadata: std::ptr::null(),
        flags: if nullable { FLAG_NULLABLE } else { 0 },
        n_children: private.children.len() as i64,
        children: private.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_schema),
        private_data: Box::into_raw(private).cast(),
    }
}

struct ArrayPrivate {
    _buffers: Vec<Option<Buffer>>,
    buffer_ptrs: Vec<*const c_void>,
    children: Vec<*mut FfiArray>,
}

unsafe extern "C" fn release_array(array: *mut FfiArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: `array` was filled by `export_array`: its private data is a
    // boxed ArrayPrivate owning the buffers, and its children are boxed
    // FfiArrays released here exactly once.
    unsafe {
        let a = &mut *array;
        let private = Box::from_raw(a.private_data as *mut ArrayPrivate);
        for &child in &private.children {
            if let Some(release) = (*child).release {
                release(child);
            }
            drop(Box::from_raw(child));
        }
        a.release = None;
    }
}

/// The C array of `data`, which it now owns.
pub fn export_array(data: ArrayData) -> FfiArray {
    let children: Vec<*mut FfiArray> = data
        .children
        .into_iter()
        .map(|c| Box::into_raw(Box::new(export_array(c))))
        .collect();
    let buffer_ptrs: Vec<*const c_void> = data
        .buffers
        .iter()
        .map(|b| b.as_ref().map_or(std::ptr::null(), Buffer::ptr))
        .collect();
    let mut private = Box::new(ArrayPrivate {
        _buffers: data.buffers,
        buffer_ptrs,
        children,
    });
    FfiArray {
        length: data.len as i64,
        null_count: data.null_count as i64,
        offset: 0,
        n_buffers: private.buffer_ptrs.len() as i64,
        n_children: private.children.len() as i64,
        buffers: private.buffer_ptrs.as_mut_ptr(),
        children: private.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(private).cast(),
    }
}

impl Drop for FfiSchema {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: not yet released (a consumer that moved it out cleared `release`).
            unsafe { release(self) };
        }
    }
}

impl Drop for FfiArray {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: as for FfiSchema.
            unsafe { release(self) };
        }
    }
}

// -- builders ----------------------------------------------------------------

/// Validity bits, allocated on the first null.
#[derive(Default)]
pub struct Validity {
    bits: Option<Vec<u8>>,
    len: usize,
    nulls: usize,
}

impl Validity {
    pub fn push(&mut self, valid: bool) {
        if !valid && self.bits.is_none() {
            let mut bits = vec![0u8; self.len.div_ceil(8)];
            for i in 0..self.len {
                bits[i / 8] |= 1 << (i % 8);
            }
            self.bits = Some(bits);
        }
        if let Some(bits) = &mut self.bits {
            if self.len.is_multiple_of(8) {
                bits.push(0);
            }
            if valid {
                bits[self.len / 8] |= 1 << (self.len % 8);
            }
        }
        if !valid {
            self.nulls += 1;
        }
        self.len += 1;
    }

    fn finish(self) -> (Option<Buffer>, usize) {
        (self.bits.map(Buffer::Bytes), self.nulls)
    }
}

/// Variable-size column (utf8 or binary), 32-bit offsets.
pub struct VarCol {
    offsets: Vec<i32>,
    data: Vec<u8>,
    validity: Validity,
}

impl Default for VarCol {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
            validity: Validity::default(),
        }
    }
}

impl VarCol {
    /// Room for `rows` values of `bytes` in all (buffers reused where they can be).
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = pool::take(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            data: pool::take(bytes),
            validity: Validity::default(),
        }
    }

    pub fn push(&mut self, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.offsets.push(self.data.len() as i32);
        self.validity.push(true);
    }

    pub fn push_opt(&mut self, v: Option<&[u8]>) {
        match v {
            Some(v) => self.push(v),
            None => {
                self.offsets.push(self.data.len() as i32);
                self.validity.push(false);
            }
        }
    }

    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// An empty column with room for as much as this one holds.
    pub fn sized_like(&self) -> Self {
        Self::with_capacity(
            self.len() + self.len() / 8,
            self.data.len() + self.data.len() / 8,
        )
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(self) -> ArrayData {
        let len = self.len();
        let (validity, nulls) = self.validity.finish();
        ArrayData {
            len,
            null_count: nulls,
            buffers: vec![
                validity,
                Some(Buffer::I32(self.offsets)),
                Some(Buffer::Bytes(self.data)),
            ],
            children: Vec::new(),
        }
    }
}

/// Fixed-width column of i8/i32/i64.
#[derive(Default)]
pub struct PrimCol<T> {
    values: Vec<T>,
    validity: Validity,
}

pub trait Prim: Copy + Default {
    fn buffer(v: Vec<Self>) -> Buffer;
}

impl Prim for i8 {
    fn buffer(v: Vec<Self>) -> Buffer {
        Buffer::I8(v)
    }
}
impl Prim for i32 {
    fn buffer(v: Vec<Self>) -> Buffer {
        Buffer::I32(v)
    }
}
impl Prim for i64 {
    fn buffer(v: Vec<Self>) -> Buffer {
        Buffer::I64(v)
    }
}

impl<T: Prim + pool::Poolable> PrimCol<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            values: pool::take(rows),
            validity: Validity::default(),
        }
    }

    /// An empty column with room for as much as this one holds.
    pub fn sized_like(&self) -> Self {
        Self::with_capacity(self.values.len() + self.values.len() / 8)
    }
}

impl<T: Prim> PrimCol<T> {
    pub fn push(&mut self, v: T) {
        self.values.push(v);
        self.validity.push(true);
    }

    pub fn push_opt(&mut self, v: Option<T>) {
        self.values.push(v.unwrap_or_default());
        self.validity.push(v.is_some());
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn finish(self) -> ArrayData {
        let (validity, nulls) = self.validity.finish();
        ArrayData {
            len: self.values.len(),
            null_count: nulls,
            buffers: vec![validity, Some(T::buffer(self.values))],
            children: Vec::new(),
        }
    }
}

/// A struct array of equally long children, no nulls.
pub fn struct_array(len: usize, children: Vec<ArrayData>) -> ArrayData {
    ArrayData {
        len,
        null_count: 0,
        buffers: vec![None],
        children,
    }
}

/// A list array over `child`, no null lists.
pub fn list_array(offsets: Vec<i32>, child: ArrayData) -> ArrayData {
    ArrayData {
        len: offsets.len() - 1,
        null_count: 0,
        buffers: vec![None, Some(Buffer::I32(offsets))],
        children: vec![child],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_bits() {
        let mut v = Validity::default();
        for i in 0..20 {
            v.push(i != 3 && i != 17);
        }
        let (bits, nulls) = v.finish();
        assert_eq!(nulls, 2);
        match &bits {
            Some(Buffer::Bytes(b)) => assert_eq!(b, &vec![0b1111_0111, 0xFF, 0b0000_1101]),
            _ => panic!("no bitmap"),
        }
    }

    #[test]
    fn export_and_release() {
        let mut c = VarCol::default();
        c.push(b"abc");
        c.push_opt(None);
        let dtype = DataType::Struct(vec![Field {
            name: "s",
            dtype: DataType::Utf8,
        }]);
        let schema = export_schema("", &dtype, false);
        let array = export_array(struct_array(2, vec![c.finish()]));
        assert_eq!(array.n_children, 1);
        drop(array);
        drop(schema);
    }
}
