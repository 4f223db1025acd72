//! What to do next in a dispute game, decided from the game as L1 shows it and our own trace
//! of the disputed commitment: a pure function, so that every rule of play is unit-tested
//! without L1 (the service in `games.rs` reads games and sends the moves).

use alloy_primitives::{B256, Bytes};

/// Whose move it is, as the game contract says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The defender names the hash at the midpoint.
    Defender,
    /// The challenger agrees or disagrees with the midpoint hash.
    Challenger,
    /// One step is left: the step must be proven.
    Step,
}

/// Our side in a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// We opened it against a wrong root.
    Challenger,
    /// We defend a correct root (as the proposer or its delegate).
    Defender,
}

/// The part of a game's on-chain state that play depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Agreed step index.
    pub lo: u64,
    /// Disputed step index.
    pub hi: u64,
    /// The defender's hash at the midpoint, when the challenger is to answer it.
    pub mid_hash: Option<B256>,
    /// Whose move.
    pub turn: Turn,
    /// Seconds left on the clock of the side to move.
    pub mover_clock_left: u64,
    /// Whether the game is over.
    pub resolved: bool,
}

impl Position {
    /// The midpoint the next bisection names.
    pub fn mid(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }
}

/// What a trace answers: the state hash after `k` steps, and the witness of step `k`.
pub trait TraceOracle {
    /// Hash of the machine state after `k` steps (the finished hash past the end).
    fn state_hash_at(&self, k: u64) -> B256;
    /// `(preState, proof)` for the step from `k` to `k + 1`.
    fn witness_at(&self, k: u64) -> (Bytes, Bytes);
}

/// The next action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do now (the opponent's move, or the game is over).
    Wait,
    /// Defender: name `hash` as the state hash at the midpoint.
    Bisect {
        /// Our hash at the midpoint.
        hash: B256,
    },
    /// Challenger: agree or disagree with the defender's midpoint hash.
    Choose {
        /// Whether our trace has the same hash there.
        agree: bool,
    },
    /// Prove the single disputed step.
    Step {
        /// Index of the agreed pre-state.
        at: u64,
        /// `abi.encode(MachineState)` of the pre-state.
        pre_state: Bytes,
        /// The step's witness.
        proof: Bytes,
    },
    /// The side to move ran out of time: end the game in our favour.
    ClaimTimeout,
}

/// Decides our next action in a game we play as `role`.
///
/// The defender names our hash at every midpoint; the challenger agrees exactly when our hash
/// at the midpoint equals the defender's. At the leaf we prove the step when we are the
/// challenger (the contract gives the win to the defender unless the step shows its hash at
/// `hi` wrong), and as the defender when our pre-state is the agreed one (proving early ends
/// the game without waiting for the challenger's clock). Whatever our role, a mover whose clock
/// is out loses: we claim it when the mover is the opponent.
pub fn decide(position: &Position, role: Role, trace: &dyn TraceOracle) -> Action {
    if position.resolved {
        return Action::Wait;
    }
    let ours_to_move = matches!(
        (position.turn, role),
        (Turn::Defender, Role::Defender) | (Turn::Challenger, Role::Challenger) | (Turn::Step, _)
    );
    if position.mover_clock_left == 0 {
        // The step turn belongs to the challenger (docs/fault-proof.md section 7).
        let opponent_moving = match position.turn {
            Turn::Step => role == Role::Defender,
            _ => !ours_to_move,
        };
        return if opponent_moving {
            Action::ClaimTimeout
        } else {
            Action::Wait
        };
    }
    match (position.turn, role) {
        (Turn::Defender, Role::Defender) => Action::Bisect {
            hash: trace.state_hash_at(position.mid()),
        },
        (Turn::Challenger, Role::Challenger) => match position.mid_hash {
            Some(hash) => Action::Choose {
                agree: trace.state_hash_at(position.mid()) == hash,
            },
            None => Action::Wait,
        },
        (Turn::Step, _) => {
            let (pre_state, proof) = trace.witness_at(position.lo);
            Action::Step {
                at: position.lo,
                pre_state,
                proof,
            }
        }
        _ => Action::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    /// A trace whose hash at `k` is `keccak(seed, k)` from `diverge` on, `keccak(0, k)` before.
    struct Fake {
        seed: u8,
        diverge: u64,
    }

    impl TraceOracle for Fake {
        fn state_hash_at(&self, k: u64) -> B256 {
            let seed = if k >= self.diverge { self.seed } else { 0 };
            keccak256([&[seed][..], &k.to_be_bytes()].concat())
        }
        fn witness_at(&self, k: u64) -> (Bytes, Bytes) {
            (Bytes::from(k.to_be_bytes().to_vec()), Bytes::new())
        }
    }

    const DEPTH: u32 = 40;

    /// Plays a whole bisection between an honest trace and a dishonest one and returns the
    /// leaf `(lo, hi)` reached, checking that the honest side always keeps its invariant.
    fn play(defender: &Fake, challenger: &Fake) -> (u64, u64) {
        let mut position = Position {
            lo: 0,
            hi: 1 << DEPTH,
            mid_hash: None,
            turn: Turn::Defender,
            mover_clock_left: 100,
            resolved: false,
        };
        let mut hash_hi = defender.state_hash_at(position.hi);
        while position.hi - position.lo > 1 {
            let Action::Bisect { hash } = decide(&position, Role::Defender, defender) else {
                panic!("defender bisects")
            };
            position.mid_hash = Some(hash);
            position.turn = Turn::Challenger;
            let Action::Choose { agree } = decide(&position, Role::Challenger, challenger) else {
                panic!("challenger chooses")
            };
            let mid = position.mid();
            if agree {
                position.lo = mid;
            } else {
                position.hi = mid;
                hash_hi = hash;
            }
            position.mid_hash = None;
            position.turn = Turn::Defender;
        }
        assert_eq!(hash_hi, defender.state_hash_at(position.hi));
        (position.lo, position.hi)
    }

    #[test]
    fn an_honest_challenger_corners_the_first_wrong_step() {
        for diverge in [1, 2, 3, 1000, (1 << DEPTH) - 1, 1 << DEPTH] {
            let honest = Fake {
                seed: 0,
                diverge: u64::MAX,
            };
            let liar = Fake { seed: 9, diverge };
            let (lo, hi) = play(&liar, &honest);
            assert_eq!(hi, diverge, "the leaf is the first step the liar got wrong");
            assert_eq!(liar.state_hash_at(lo), honest.state_hash_at(lo));
            assert_ne!(liar.state_hash_at(hi), honest.state_hash_at(hi));
        }
    }

    #[test]
    fn an_honest_defender_keeps_true_hashes_at_both_ends() {
        let honest = Fake {
            seed: 0,
            diverge: u64::MAX,
        };
        for diverge in [1, 77, 1 << 39] {
            let liar = Fake { seed: 3, diverge };
            let (lo, hi) = play(&honest, &liar);
            assert_eq!(hi, lo + 1);
            // Both ends carry the honest hashes: the step will confirm the defender.
        }
    }

    #[test]
    fn the_leaf_is_proven_and_timeouts_are_claimed_only_against_the_opponent() {
        let trace = Fake {
            seed: 0,
            diverge: u64::MAX,
        };
        let leaf = Position {
            lo: 41,
            hi: 42,
            mid_hash: None,
            turn: Turn::Step,
            mover_clock_left: 5,
            resolved: false,
        };
        assert!(matches!(
            decide(&leaf, Role::Challenger, &trace),
            Action::Step { at: 41, .. }
        ));
        let out_of_time = Position {
            mover_clock_left: 0,
            ..leaf.clone()
        };
        assert_eq!(
            decide(&out_of_time, Role::Defender, &trace),
            Action::ClaimTimeout
        );
        assert_eq!(decide(&out_of_time, Role::Challenger, &trace), Action::Wait);
        let defender_late = Position {
            turn: Turn::Defender,
            mover_clock_left: 0,
            ..leaf.clone()
        };
        assert_eq!(
            decide(&defender_late, Role::Challenger, &trace),
            Action::ClaimTimeout
        );
        assert_eq!(decide(&defender_late, Role::Defender, &trace), Action::Wait);
        let over = Position {
            resolved: true,
            ..leaf
        };
        assert_eq!(decide(&over, Role::Challenger, &trace), Action::Wait);
    }
}
