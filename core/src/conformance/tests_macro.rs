//! `conformance_tests!`: one `#[tokio::test]` per conformance case, plus every suite together,
//! for a backend's test file. Each backend writes only how to get a fresh backend, so a case
//! added here runs against every implementation.

/// `conformance_tests!(setup, max_receive_count)`, where `setup` is an async fn returning
/// `(guard, Backend)`: the guard (a temp dir, a stack) lives as long as the test.
#[macro_export]
macro_rules! conformance_tests {
    ($setup:path, $max:expr) => {
        $crate::conformance_tests!(@cases $setup;
            queue_send_receive_delete => |b| queue::send_receive_delete(b.queue);
            queue_batch_send_and_receive => |b| queue::batch_send_and_receive(b.queue);
            queue_visibility_timeout_redelivers => |b| queue::visibility_timeout_redelivers(b.queue);
            queue_change_visibility_backoff => |b| queue::change_visibility_backoff(b.queue);
            queue_change_visibility_heartbeat => |b| queue::change_visibility_heartbeat(b.queue);
            queue_delayed_delivery => |b| queue::delayed_delivery(b.queue);
            queue_execution_id_attribute => |b| queue::execution_id_attribute(b.queue);
            queue_trace_parent_attribute => |b| queue::trace_parent_attribute(b.queue);
            queue_fair_group_travels => |b| queue::fair_group_travels(b.queue);
            queue_wake_signal_on_send => |b| queue::wake_signal_on_send(b.queue);
            queue_dead_letter_after_max_receives =>
                |b| queue::dead_letter_after_max_receives(b.queue, $max);
            queue_redrive_original_body => |b| queue::redrive_original_body(b.queue, $max);
            queue_redrive_corrected_body => |b| queue::redrive_corrected_body(b.queue, $max);

            connections_crud => |b| connections::crud(b.connections);
            connections_list_filters => |b| connections::list_filters(b.connections);
            connections_tenant_isolation => |b| connections::tenant_isolation(b.connections);

            executions_create_and_get => |b| executions::create_and_get(b.executions);
            executions_duplicate_execution_id => |b| executions::duplicate_execution_id(b.executions);
            executions_idempotency_claims => |b| executions::idempotency_claims(b.executions);
            executions_list_filters => |b| executions::list_filters(b.executions);
            executions_list_pagination => |b| executions::list_pagination(b.executions);
            executions_list_cursor_isolation => |b| executions::list_cursor_isolation(b.executions);
            executions_list_invalid_cursor => |b| executions::list_invalid_cursor(b.executions);
            executions_claim => |b| executions::claim(b.executions);
            executions_claim_expired_lease => |b| executions::claim_expired_lease(b.executions);
            executions_claim_race => |b| executions::claim_race(b.executions);
            executions_extend_lease => |b| executions::extend_lease(b.executions);
            executions_release => |b| executions::release(b.executions);
            executions_complete => |b| executions::complete(b.executions);
            executions_complete_without_owner => |b| executions::complete_without_owner(b.executions);
            executions_reopen => |b| executions::reopen(b.executions);
            executions_outbox => |b| executions::outbox(b.executions);
            executions_outbox_claim_race => |b| executions::outbox_claim_race(b.executions);
            executions_outbox_expired_claim_taken_over =>
                |b| executions::outbox_expired_claim_taken_over(b.executions);

            api_keys_put_find => |b| api_keys::put_find(b.api_keys);
            api_keys_list_and_revoke => |b| api_keys::list_and_revoke(b.api_keys);
            events_publish => |b| events::publish(b.events);
            secrets_put_get_rotate_delete => |b| secrets::put_get_rotate_delete(b.secrets);
            secrets_missing => |b| secrets::missing_secrets(b.secrets);
            secrets_compare_and_set_one_of_two_wins =>
                |b| secrets::compare_and_set_one_of_two_wins(b.secrets);
            secrets_compare_and_set_stale_version_loses =>
                |b| secrets::compare_and_set_stale_version_loses(b.secrets);

            callbacks_written_with_completion => |b| callbacks::written_with_completion(b);
            callbacks_claim_due => |b| callbacks::claim_due(b);
            callbacks_record_attempts => |b| callbacks::record_attempts(b);
            callbacks_record_batches => |b| callbacks::record_batches(b);
            callbacks_failure_writes_event => |b| callbacks::failure_writes_event(b);
            callbacks_redeliver => |b| callbacks::redeliver(b);

            leases_exclusive_until_expired_or_released =>
                |b| leases::exclusive_until_expired_or_released(b.leases);
            leases_one_of_many_takers_wins => |b| leases::one_of_many_takers_wins(b.leases);

            buckets_grant_the_burst_then_refill =>
                |b| buckets::grants_the_burst_then_refills(b.rate_limits);
            buckets_concurrent_takers_share_the_burst =>
                |b| buckets::concurrent_takers_share_the_burst(b.rate_limits);

            webhooks_duplicate => |b| webhooks::duplicate(b.webhooks);
            webhooks_concurrent_duplicates => |b| webhooks::concurrent_duplicates(b.webhooks);
            webhooks_tenant_isolation => |b| webhooks::tenant_isolation(b.webhooks);
            webhooks_window_expiry => |b| webhooks::window_expiry(b.webhooks);
            webhooks_endpoints => |b| webhooks::endpoints(b.webhooks);

            triggers_crud => |b| triggers::crud(b.triggers);
            triggers_tenant_isolation => |b| triggers::tenant_isolation(b.triggers);
            triggers_matching => |b| triggers::matching(b.triggers);
            webhook_outbox_recorded_once => |b| webhook_outbox::recorded_once(b);
            webhook_outbox_born_claimed => |b| webhook_outbox::born_claimed(b);
            event_list_filters_and_pages => |b| event_list::list_filters_and_pages(b.webhooks);
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_suite_on_one_shared_backend() {
            let (_guard, backend) = $setup().await;
            $crate::conformance::run_all(&backend, $max).await;
        }
    };
    (@cases $setup:path; $($name:ident => |$b:ident| $module:ident :: $case:ident ( $($arg:expr),* );)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_guard, $b) = $setup().await;
            $crate::conformance::$module::$case($($arg),*).await;
        }
    )*};
}
