mock_provider "google" {
  override_data {
    target = data.google_project.this
    values = {
      number = "123456789012"
    }
  }
}

variables {
  project_id    = "platform-dev"
  location      = "europe-west1"
  repository_id = "ledger-worker"
}

run "registry_is_immutable_and_encrypted" {
  command = apply

  assert {
    condition     = one(google_artifact_registry_repository.this.docker_config).immutable_tags == true
    error_message = "tags must be immutable: CD promotes by digest"
  }

  assert {
    condition     = google_artifact_registry_repository.this.kms_key_name == google_kms_crypto_key.this.id
    error_message = "the repository must use its own customer-managed key"
  }

  assert {
    condition     = google_kms_crypto_key.this.rotation_period == "7776000s"
    error_message = "the key must rotate every 90 days"
  }
}

run "cleanup_keeps_the_newest_versions" {
  command = apply

  variables {
    keep_count = 50
  }

  assert {
    condition     = one([for p in google_artifact_registry_repository.this.cleanup_policies : one(p.most_recent_versions).keep_count if p.action == "KEEP"]) == 50
    error_message = "the cleanup policy must keep keep_count versions"
  }
}
