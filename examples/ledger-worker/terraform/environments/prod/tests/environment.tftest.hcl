mock_provider "google" {}

run "prod_is_wired_to_its_namespace_state_and_identity" {
  command = apply

  assert {
    condition     = var.environment == "prod"
    error_message = "this root must manage prod"
  }

  assert {
    condition     = output.namespace == "ledger-worker-prod"
    error_message = "prod binds to the namespace its overlay deploys into"
  }

  assert {
    condition     = can(regex("(?m)^\\s*prefix\\s*=\\s*\"ledger\\-worker/prod\"", file("${path.module}/versions.tf")))
    error_message = "the state of prod must live under its own prefix ledger-worker/prod"
  }

  assert {
    condition     = length(module.registry) == 0
    error_message = "only production creates a registry, and only the one CI pushes to"
  }

  assert {
    condition     = module.workload_identity.workload_identity_member == "serviceAccount:platform-prod.svc.id.goog[ledger-worker-prod/ledger-worker]"
    error_message = "the Google service account must be usable by ledger-worker-prod/ledger-worker only"
  }
}
