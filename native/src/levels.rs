//! The level pass of the causal order (`reconstruct/engine/order.py`): every
//! original's adjusted time and depth over the DAG of order constraints,
//! roots first, cycles broken (soft edges first). numpy needs one pass over
//! every array per level and a sort of the edges by source; here it is one
//! walk over the edges.
//!
//! The result is the level-by-level one exactly: every update is a maximum
//! (order-free), a node's time is fixed when it is reached (all its parents
//! done), and the nodes released from a cycle are marked done together
//! before their edges are followed, as one level would.

use crate::groups::BadInput;

/// Stands for "no parent" in the running maximum of the parents' times.
pub const NEG: i64 = i64::MIN / 4;

fn bad<T>(what: impl Into<String>) -> Result<T, BadInput> {
    Err(BadInput(what.into()))
}

/// Inputs: `cts` (clock-corrected time), `service` and `original` (one
/// flag per node: duplicates take no part), and the constraints, one array
/// per kind: `kinds[k][d]` is the node `d` comes after (-1: none; an edge
/// only between two originals, never a node to itself). The first `n_hard`
/// kinds are certain, the rest learned (let go of first in a cycle).
/// Outputs, one per node: `adj` (adjusted time: the latest of its own
/// corrected time shifted as its service's earlier events were, and its
/// parents' adjusted times), `depth` (longest path from a root) and
/// `released` (let go of from a cycle).
pub struct Levels<'a> {
    pub cts: &'a [i64],
    pub service: &'a [i64],
    pub original: &'a [bool],
    pub kinds: &'a [&'a [i64]],
    pub n_hard: usize,
}

impl Levels<'_> {
    /// Every edge (src, dst, hard), kind by kind.
    fn edges(&self) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        let n = self.cts.len();
        self.kinds.iter().enumerate().flat_map(move |(k, arr)| {
            arr.iter().enumerate().filter_map(move |(d, &s)| {
                // (in range: checked by `levels` before any edge is followed)
                let s = usize::try_from(s).ok()?;
                (s < n && s != d && self.original[d] && self.original[s]).then_some((
                    s,
                    d,
                    k < self.n_hard,
                ))
            })
        })
    }
}

pub fn levels(
    g: &Levels<'_>,
    adj: &mut [i64],
    depth: &mut [i64],
    released: &mut [bool],
) -> Result<(), BadInput> {
    let n = g.cts.len();
    if g.service.len() != n
        || g.original.len() != n
        || adj.len() != n
        || depth.len() != n
        || released.len() != n
        || g.kinds.iter().any(|k| k.len() != n)
    {
        return bad("levels: arrays of different lengths");
    }
    if n > u32::MAX as usize {
        return bad(format!("{n} nodes: more than 32-bit node numbers hold"));
    }
    if let Some(&s) = g
        .kinds
        .iter()
        .flat_map(|k| k.iter())
        .find(|&&s| s >= n as i64)
    {
        return bad(format!("constraint {s} out of range 0..{n}"));
    }
    // Edges grouped by source (a counting sort), and every node's in-degree.
    let mut ptr = vec![0usize; n + 1];
    let mut indeg = vec![0u32; n];
    for (s, d, _) in g.edges() {
        ptr[s + 1] += 1;
        // (at most one edge per kind into a node: no overflow below 2^32 kinds)
        indeg[d] += 1;
    }
    for i in 0..n {
        ptr[i + 1] += ptr[i];
    }
    let mut fill = ptr[..n].to_vec();
    let mut out_dst = vec![0u32; ptr[n]];
    for (s, d, _) in g.edges() {
        out_dst[fill[s]] = d as u32; // (n fits 32 bits: checked above)
        fill[s] += 1;
    }
    drop(fill);

    adj.copy_from_slice(g.cts);
    depth.fill(0);
    released.fill(false);
    let mut inh = vec![0i64; n];
    let mut pmax = vec![NEG; n];
    let mut done: Vec<bool> = g.original.iter().map(|&o| !o).collect();
    let mut frontier: Vec<usize> = (0..n).filter(|&i| g.original[i] && indeg[i] == 0).collect();
    let mut next: Vec<usize> = Vec::new();
    loop {
        while !frontier.is_empty() {
            for &p in &frontier {
                done[p] = true;
            }
            for &p in &frontier {
                // (wrapping, as numpy's int64 arithmetic)
                adj[p] = g.cts[p].wrapping_add(inh[p]).max(pmax[p]);
            }
            next.clear();
            for &p in &frontier {
                let (a, shift, dp) = (adj[p], adj[p].wrapping_sub(g.cts[p]), depth[p] + 1);
                for &c in &out_dst[ptr[p]..ptr[p + 1]] {
                    let c = c as usize;
                    if done[c] {
                        continue;
                    }
                    // (another service's shift is not inherited: max with 0, and inh >= 0)
                    if g.service[c] == g.service[p] {
                        inh[c] = inh[c].max(shift);
                    }
                    pmax[c] = pmax[c].max(a);
                    depth[c] = depth[c].max(dp);
                    indeg[c] -= 1;
                    if indeg[c] == 0 {
                        next.push(c);
                    }
                }
            }
            std::mem::swap(&mut frontier, &mut next);
        }
        let left: Vec<usize> = (0..n).filter(|&i| !done[i]).collect();
        if left.is_empty() {
            return Ok(());
        }
        // A cycle: first let go of the learned (soft) edges into what is left.
        let mut hard_left = vec![0u32; n];
        for (s, d, h) in g.edges() {
            if h && !done[s] && !done[d] {
                hard_left[d] += 1;
            }
        }
        let free: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| hard_left[i] == 0)
            .collect();
        frontier = if free.is_empty() { left } else { free };
        for &p in &frontier {
            released[p] = true;
            indeg[p] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One hard and one soft kind; `edges`: (src, dst, hard).
    fn run(
        cts: &[i64],
        service: &[i64],
        edges: &[(i64, i64, bool)],
    ) -> (Vec<i64>, Vec<i64>, Vec<bool>) {
        let n = cts.len();
        let (mut hard, mut soft) = (vec![-1i64; n], vec![-1i64; n]);
        for &(s, d, h) in edges {
            if h {
                hard[d as usize] = s;
            } else {
                soft[d as usize] = s;
            }
        }
        let original = vec![true; n];
        let (mut adj, mut depth, mut rel) = (vec![0; n], vec![0; n], vec![false; n]);
        let kinds: [&[i64]; 2] = [&hard, &soft];
        let g = Levels {
            cts,
            service,
            original: &original,
            kinds: &kinds,
            n_hard: 1,
        };
        levels(&g, &mut adj, &mut depth, &mut rel).unwrap();
        (adj, depth, rel)
    }

    #[test]
    fn an_effect_stamped_early_moves_to_its_cause_and_its_service_follows() {
        // 0 (svc 0, t=100) -> 1 (svc 1, t=50) -> 2 (svc 1, t=60)
        let (adj, depth, rel) = run(&[100, 50, 60], &[0, 1, 1], &[(0, 1, true), (1, 2, true)]);
        assert_eq!(adj, [100, 100, 110]);
        assert_eq!(depth, [0, 1, 2]);
        assert_eq!(rel, [false; 3]);
    }

    #[test]
    fn a_cycle_lets_go_of_soft_edges_first() {
        // 0 -> 1 hard, 1 -> 0 soft: 0 is held back by a soft edge only, so it goes first.
        let (adj, depth, rel) = run(&[10, 5], &[0, 1], &[(0, 1, true), (1, 0, false)]);
        assert_eq!(rel, [true, false]);
        assert_eq!(adj, [10, 10]);
        assert_eq!(depth, [0, 1]);
        // Only hard edges in the cycle: everything left is released at once.
        let (_, _, rel) = run(&[10, 5], &[0, 1], &[(0, 1, true), (1, 0, true)]);
        assert_eq!(rel, [true, true]);
    }

    #[test]
    fn bad_constraints_are_errors() {
        let far: [&[i64]; 1] = [&[-1, 2]];
        let g = Levels {
            cts: &[1, 2],
            service: &[0, 0],
            original: &[true, true],
            kinds: &far,
            n_hard: 1,
        };
        let (mut a, mut d, mut r) = (vec![0; 2], vec![0; 2], vec![false; 2]);
        assert!(levels(&g, &mut a, &mut d, &mut r).is_err());
        let short: [&[i64]; 1] = [&[-1]];
        let g = Levels { kinds: &short, ..g };
        assert!(levels(&g, &mut a, &mut d, &mut r).is_err());
        let fine: [&[i64]; 1] = [&[-1, 0]];
        let g = Levels { kinds: &fine, ..g };
        assert!(levels(&g, &mut a[..1], &mut d, &mut r).is_err());
        assert!(levels(&g, &mut a, &mut d, &mut r).is_ok());
        assert_eq!((a, d), (vec![1, 2], vec![0, 1]));
    }
}
