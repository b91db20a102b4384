//! Grouping passes of reconstruction that numpy can only do by sorting the
//! whole log: connected components (union-find) and the orders within each
//! instance, by counting sort on the instance number (linear, where a sort
//! of tens of millions of 64-bit keys is the slowest step of a rebuild).
//!
//! Plain slices in, plain slices out; the Python face (`py.rs`) checks the
//! arrays and releases the GIL around these. Every index is checked: bad
//! input is an `Err`, never a panic or an out-of-bounds write.

/// What went wrong with the arrays a caller passed (a bug on its side).
#[derive(Debug, PartialEq, Eq)]
pub struct BadInput(pub String);

fn bad<T>(what: impl Into<String>) -> Result<T, BadInput> {
    Err(BadInput(what.into()))
}

fn index(v: i64, len: usize, what: &str) -> Result<usize, BadInput> {
    match usize::try_from(v) {
        Ok(i) if i < len => Ok(i),
        _ => bad(format!("{what} {v} out of range 0..{len}")),
    }
}

struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Result<Self, BadInput> {
        if n > u32::MAX as usize {
            return bad(format!("{n} nodes: more than 32-bit node numbers hold"));
        }
        Ok(Self {
            parent: (0..n as u32).collect(),
        })
    }

    fn find(&mut self, mut x: u32) -> u32 {
        // Path halving: every other node on the way points to its grandparent.
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return x;
            }
            let g = self.parent[p as usize];
            self.parent[x as usize] = g;
            x = g;
        }
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        // The smaller root wins: trees stay shallow enough with path
        // halving, and the result does not depend on the edges' order.
        if ra < rb {
            self.parent[rb as usize] = ra;
        } else if rb < ra {
            self.parent[ra as usize] = rb;
        }
    }
}

/// Connected components of events (`0..n`) linked by values (event
/// `eid[i]` carries value number `vid[i]`) and by causation (`child[j]`
/// names `parent[j]`). `out[e]`: the component of every event with a link,
/// numbered densely in the order of each component's first event; -1 for
/// an event without any. Returns the number of components.
pub fn components(
    eid: &[i64],
    vid: &[i32],
    child: &[i64],
    parent: &[i64],
    out: &mut [i64],
) -> Result<usize, BadInput> {
    let n = out.len();
    if eid.len() != vid.len() || child.len() != parent.len() {
        return bad("components: paired arrays of different lengths");
    }
    let mut n_values = 0usize;
    for &v in vid {
        let v = usize::try_from(v).or_else(|_| bad(format!("value number {v} is negative")))?;
        n_values = n_values.max(v + 1);
    }
    let mut uf = UnionFind::new(n + n_values)?;
    let mut linked = vec![false; n];
    for (&e, &v) in eid.iter().zip(vid) {
        let e = index(e, n, "event")?;
        linked[e] = true;
        // (in range: checked against u32 by UnionFind::new)
        uf.union(e as u32, (n + v as usize) as u32);
    }
    for (&c, &p) in child.iter().zip(parent) {
        let (c, p) = (index(c, n, "event")?, index(p, n, "cause")?);
        linked[c] = true;
        linked[p] = true;
        uf.union(c as u32, p as u32);
    }
    let mut label = vec![u32::MAX; n + n_values];
    let mut next = 0u32;
    for e in 0..n {
        if !linked[e] {
            out[e] = -1;
            continue;
        }
        let r = uf.find(e as u32) as usize;
        if label[r] == u32::MAX {
            label[r] = next;
            next += 1;
        }
        out[e] = i64::from(label[r]);
    }
    Ok(next as usize)
}

/// Positions `0..n` with a group (`group[i] >= 0`) stably sorted by group:
/// `order[g_start..g_end]` are group g's positions in increasing order.
/// Returns the start of every group (`groups + 1` entries).
fn by_group(
    group: &[i64],
    keep: impl Fn(usize) -> bool,
) -> Result<(Vec<usize>, Vec<usize>), BadInput> {
    let mut n_groups = 0usize;
    for (i, &g) in group.iter().enumerate() {
        if g >= 0 && keep(i) {
            n_groups = n_groups.max(g as usize + 1);
        }
    }
    if n_groups > group.len() {
        return bad(format!(
            "group number {} above the {} positions",
            n_groups - 1,
            group.len()
        ));
    }
    let mut start = vec![0usize; n_groups + 1];
    for (i, &g) in group.iter().enumerate() {
        if g >= 0 && keep(i) {
            start[g as usize + 1] += 1;
        }
    }
    for g in 0..n_groups {
        start[g + 1] += start[g];
    }
    let mut fill = start.clone();
    let mut order = vec![0usize; start[n_groups]];
    for (i, &g) in group.iter().enumerate() {
        if g >= 0 && keep(i) {
            let slot = &mut fill[g as usize];
            order[*slot] = i;
            *slot += 1;
        }
    }
    Ok((order, start))
}

/// The previous original of the same instance in the same topic-partition
/// (by offset, then position), -1 where none: `prev` for every position.
pub fn partition_chain(
    comp: &[i64],
    tp: &[i64],
    offset: &[i64],
    original: &[bool],
    prev: &mut [i64],
) -> Result<(), BadInput> {
    let n = comp.len();
    if tp.len() != n || offset.len() != n || original.len() != n || prev.len() != n {
        return bad("partition_chain: arrays of different lengths");
    }
    prev.fill(-1);
    let (order, start) = by_group(comp, |i| original[i])?;
    let mut members: Vec<(i64, i64, usize)> = Vec::new();
    for w in start.windows(2) {
        if w[1] - w[0] < 2 {
            continue;
        }
        members.clear();
        members.extend(order[w[0]..w[1]].iter().map(|&i| (tp[i], offset[i], i)));
        // (unique keys: the position is one of them)
        members.sort_unstable();
        for pair in members.windows(2) {
            if pair[0].0 == pair[1].0 {
                prev[pair[1].2] = pair[0].2 as i64;
            }
        }
    }
    Ok(())
}

/// `first` (a permutation of `0..group.len()`) stably sorted by the group
/// of each position: `out` holds the positions of group 0 in `first`'s
/// order, then group 1's, ... Every group number must be in `0..n_groups`.
pub fn stable_by_group(
    group: &[i64],
    first: &[i64],
    n_groups: usize,
    out: &mut [i64],
) -> Result<(), BadInput> {
    let n = group.len();
    if first.len() != n || out.len() != n {
        return bad("stable_by_group: arrays of different lengths");
    }
    let mut end = vec![0usize; n_groups + 1];
    for &g in group {
        end[index(g, n_groups, "group")? + 1] += 1;
    }
    for g in 0..n_groups {
        end[g + 1] += end[g];
    }
    let mut fill = end[..n_groups].to_vec();
    end.remove(0);
    for &p in first {
        let g = group[index(p, n, "position")?] as usize;
        if fill[g] == end[g] {
            return bad("stable_by_group: first is not a permutation");
        }
        out[fill[g]] = p;
        fill[g] += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_number_by_first_event() {
        // 0-2 share value 1, 3 names 4 as its cause, 5 has nothing, 6 carries value 0 alone.
        let eid = [2, 0, 6];
        let vid = [1, 1, 0];
        let mut out = [0i64; 7];
        let k = components(&eid, &vid, &[3], &[4], &mut out).unwrap();
        assert_eq!(k, 3);
        assert_eq!(out, [0, -1, 0, 1, 1, -1, 2]);
    }

    #[test]
    fn components_join_transitively() {
        // 0 and 1 share value 0; 1 and 2 value 1; 3 names 2 as its cause.
        let mut out = [0i64; 4];
        let k = components(&[0, 1, 1, 2], &[0, 0, 1, 1], &[3], &[2], &mut out).unwrap();
        assert_eq!(k, 1);
        assert_eq!(out, [0, 0, 0, 0]);
    }

    #[test]
    fn components_reject_bad_indices() {
        let mut out = [0i64; 2];
        assert!(components(&[2], &[0], &[], &[], &mut out).is_err());
        assert!(components(&[0], &[-1], &[], &[], &mut out).is_err());
        assert!(components(&[0], &[0, 1], &[], &[], &mut out).is_err());
        assert!(components(&[], &[], &[0], &[-1], &mut out).is_err());
    }

    #[test]
    fn chain_follows_offsets_within_instance_and_partition() {
        // instance 0: positions 0, 2, 3 in partition 7 (offsets 5, 3, 9), 1 in partition 8;
        // position 4 is a duplicate, 5 in no instance.
        let comp = [0, 0, 0, 0, 0, -1];
        let tp = [7, 8, 7, 7, 7, 7];
        let offset = [5, 1, 3, 9, 4, 6];
        let original = [true, true, true, true, false, true];
        let mut prev = [9i64; 6];
        partition_chain(&comp, &tp, &offset, &original, &mut prev).unwrap();
        assert_eq!(prev, [2, -1, -1, 0, -1, -1]);
    }

    #[test]
    fn chain_ties_on_offset_go_by_position() {
        let mut prev = [0i64; 3];
        partition_chain(&[1, 1, 1], &[0, 0, 0], &[4, 4, 4], &[true; 3], &mut prev).unwrap();
        assert_eq!(prev, [-1, 0, 1]);
    }

    #[test]
    fn stable_grouping_keeps_the_given_order() {
        let group = [1, 0, 1, 0];
        let first = [2, 3, 0, 1];
        let mut out = [0i64; 4];
        stable_by_group(&group, &first, 2, &mut out).unwrap();
        assert_eq!(out, [3, 1, 2, 0]);
        // more groups than positions: an argsort of small keys
        stable_by_group(&[5, 2], &[0, 1], 9, &mut out[..2]).unwrap();
        assert_eq!(out[..2], [1, 0]);
        assert!(stable_by_group(&[0, -1], &[0, 1], 2, &mut [0i64; 2]).is_err());
        assert!(stable_by_group(&[0, 2], &[0, 1], 2, &mut [0i64; 2]).is_err());
        assert!(stable_by_group(&[0, 0], &[0, 2], 1, &mut [0i64; 2]).is_err());
        assert!(stable_by_group(&[0, 1], &[1, 1], 2, &mut [0i64; 2]).is_err());
    }
}
