//! Read and write sets of executed transactions, and the conflict-free grouping
//! they imply (used to report a schedule's available parallelism).

use alloy_primitives::{Address, U256, map::HashMap};

/// One piece of state a transaction can observe or change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// Balance, nonce, code and existence of an account.
    Account(Address),
    /// An account's storage as a whole: written when the account is created
    /// or deleted (its storage is wiped), read with every slot.
    Storage(Address),
    /// One storage slot.
    Slot(Address, U256),
}

/// The locations one transaction read and wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessSet {
    /// Everything it loaded (a written location is read too).
    pub reads: Vec<Location>,
    /// Everything whose value it changed.
    pub writes: Vec<Location>,
}

/// The conflict-free grouping of a block: transactions are in one group when
/// one of them writes a location another reads or writes. Returns the group
/// index of every transaction (groups numbered by their first transaction).
pub fn conflict_groups(access: &[AccessSet]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..access.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn union(parent: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[high] = low;
        }
    }
    // A written location ties every transaction that touches it together.
    let mut writer: HashMap<Location, usize> = HashMap::default();
    for (i, set) in access.iter().enumerate() {
        for location in &set.writes {
            match writer.get(location) {
                Some(&w) => union(&mut parent, w, i),
                None => {
                    writer.insert(*location, i);
                }
            }
        }
    }
    for (i, set) in access.iter().enumerate() {
        for location in set.reads.iter().chain(&set.writes) {
            if let Some(&w) = writer.get(location) {
                union(&mut parent, w, i);
            }
        }
    }
    (0..access.len()).map(|i| find(&mut parent, i)).collect()
}

/// Shape of a schedule: how many groups, and the speedup unlimited cores
/// could reach (total gas over the gas of the heaviest group).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleShape {
    /// Number of conflict-free groups.
    pub groups: usize,
    /// Gas of the heaviest group.
    pub heaviest_group_gas: u64,
    /// Total gas over the heaviest group's gas.
    pub available_parallelism: f64,
}

/// Groups `access` and weighs each group with the transactions' gas.
pub fn schedule_shape(access: &[AccessSet], gas: &[u64]) -> ScheduleShape {
    let groups = conflict_groups(access);
    let mut weight: HashMap<usize, u64> = HashMap::default();
    for (group, gas) in groups.iter().zip(gas) {
        *weight.entry(*group).or_default() += gas;
    }
    let total: u64 = gas.iter().sum();
    let heaviest = weight.values().copied().max().unwrap_or(0);
    ScheduleShape {
        groups: weight.len(),
        heaviest_group_gas: heaviest,
        available_parallelism: if heaviest == 0 {
            1.0
        } else {
            total as f64 / heaviest as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    fn set(reads: &[Location], writes: &[Location]) -> AccessSet {
        AccessSet {
            reads: reads.to_vec(),
            writes: writes.to_vec(),
        }
    }

    #[test]
    fn read_read_sharing_is_not_a_conflict_but_a_write_is() {
        let a = Location::Account(address!("00000000000000000000000000000000000000aa"));
        let b = Location::Account(address!("00000000000000000000000000000000000000bb"));
        let c = Location::Slot(
            address!("00000000000000000000000000000000000000cc"),
            U256::from(1),
        );
        let access = [
            set(&[a], &[]),
            set(&[a], &[b]),
            set(&[c], &[]),
            set(&[b], &[]),
            set(&[], &[c]),
        ];
        assert_eq!(conflict_groups(&access), vec![0, 1, 2, 1, 2]);
        let shape = schedule_shape(&access, &[10, 20, 30, 40, 50]);
        assert_eq!(shape.groups, 3);
        assert_eq!(shape.heaviest_group_gas, 80);
        assert!((shape.available_parallelism - 150.0 / 80.0).abs() < 1e-9);
    }
}
