mock_provider "google" {}

run "dev_is_wired_to_its_namespace_state_and_identity" {
  command = apply

  assert {
    condition     = var.environment == "dev"
    error_message = "this root must manage dev"
  }

  assert {
    condition     = output.namespace == "ledger-worker-dev"
    error_message = "dev binds to the namespace its overlay deploys into"
  }

  assert {
    condition     = can(regex("(?m)^\\s*prefix\\s*=\\s*\"ledger\\-worker/dev\"", file("${path.module}/versions.tf")))
    error_message = "the state of dev must live under its own prefix ledger-worker/dev"
  }

  assert {
    condition     = length(module.registry) == 0
    error_message = "CI pushes to image_registry outside this cloud: no registry here"
  }

  assert {
    condition     = module.workload_identity.workload_identity_member == "serviceAccount:platform-dev.svc.id.goog[ledger-worker-dev/ledger-worker]"
    error_message = "the Google service account must be usable by ledger-worker-dev/ledger-worker only"
  }
}
