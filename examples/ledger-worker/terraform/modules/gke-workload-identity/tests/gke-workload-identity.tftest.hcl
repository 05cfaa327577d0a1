mock_provider "google" {}

variables {
  project_id      = "platform-dev"
  account_id      = "ledger-worker-dev"
  namespace       = "ledger-worker-dev"
  service_account = "ledger-worker"
}

run "trust_is_bound_to_the_service_account" {
  command = apply

  assert {
    condition     = google_service_account_iam_member.workload_identity.member == "serviceAccount:platform-dev.svc.id.goog[ledger-worker-dev/ledger-worker]"
    error_message = "the Google service account must be usable by ledger-worker-dev/ledger-worker only"
  }

  assert {
    condition     = google_service_account_iam_member.workload_identity.role == "roles/iam.workloadIdentityUser"
    error_message = "the binding grants workload identity only"
  }
}
