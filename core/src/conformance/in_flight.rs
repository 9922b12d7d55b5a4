//! [`crate::limits::InFlightSlots`] over a backend's lease store: two processes together never
//! run more of a tenant's executions than its cap, blocks move to the process that has the work
//! once the other stops using them, and a process that dies gives its share back when its
//! blocks' leases end.

use std::time::Duration;

use crate::backend::Backend;
use crate::conformance::fresh_id;
use crate::limits::{InFlightSlot, InFlightSlots};

/// Take places for `tenant` until the fleet says no (at most `max`).
async fn take_all(slots: &InFlightSlots, tenant: &str, cap: u32, max: u32) -> Vec<InFlightSlot> {
    let mut taken = Vec::new();
    while (taken.len() as u32) < max {
        match slots.try_start(tenant, cap).await.expect("store") {
            Some(slot) => taken.push(slot),
            None => break,
        }
    }
    taken
}

/// Wait (up to `within`) until `slots` can take `want` places for `tenant`.
async fn eventually_takes(
    slots: &InFlightSlots,
    tenant: &str,
    cap: u32,
    want: u32,
    within: Duration,
) -> Vec<InFlightSlot> {
    let deadline = tokio::time::Instant::now() + within;
    let mut held = Vec::new();
    loop {
        held.extend(take_all(slots, tenant, cap, want - held.len() as u32).await);
        if held.len() as u32 == want || tokio::time::Instant::now() > deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `a` and `b` are two independent handles on one store (two processes).
pub async fn one_cap_across_processes(a: Backend, b: Backend) {
    let tenant = format!("tenant-{}", fresh_id());
    let cap = 20;
    let hold = Duration::from_secs(3);
    let pa = InFlightSlots::new(a.leases.clone(), "process-a", hold);
    let pb = InFlightSlots::new(b.leases.clone(), "process-b", hold);

    let in_a = take_all(&pa, &tenant, cap, 12).await;
    assert_eq!(in_a.len(), 12, "a alone gets what it asks within the cap");
    let in_b = take_all(&pb, &tenant, cap, cap).await;
    assert!(
        in_a.len() + in_b.len() <= cap as usize,
        "the fleet stays within the cap: {} + {}",
        in_a.len(),
        in_b.len()
    );
    assert!(!in_b.is_empty(), "b gets a share of what a leaves");
    assert!(
        take_all(&pa, &tenant, cap, 1).await.len() + take_all(&pb, &tenant, cap, 1).await.len()
            <= cap as usize - in_a.len() - in_b.len(),
        "nothing more once the blocks are spread"
    );
    let other = take_all(&pb, &format!("{tenant}-other"), cap, 5).await;
    assert_eq!(other.len(), 5, "another tenant is not held back");
    assert_eq!(
        take_all(&pa, &tenant, 0, 50).await.len(),
        50,
        "no cap (0) is no limit"
    );

    // a stops running: its blocks go back within a few seconds and b can reach the whole cap.
    let b_had = in_b.len() as u32;
    drop(in_a);
    let mut in_b = in_b;
    in_b.extend(eventually_takes(&pb, &tenant, cap, cap - b_had, Duration::from_secs(10)).await);
    assert_eq!(in_b.len() as u32, cap, "b gets the blocks a gave back");
    assert!(
        take_all(&pa, &tenant, cap, 1).await.is_empty(),
        "and a now gets none"
    );

    // b dies holding everything (dropped without giving back): a gets the cap once b's leases
    // end, and not before (the store still holds them for `hold`).
    drop(pb);
    drop(in_b);
    assert!(
        take_all(&pa, &tenant, cap, 1).await.is_empty(),
        "a dead process's blocks stay held until their leases end"
    );
    let later = eventually_takes(&pa, &tenant, cap, cap, Duration::from_secs(10)).await;
    assert_eq!(
        later.len() as u32,
        cap,
        "a gets the whole cap after b's hold"
    );
}
