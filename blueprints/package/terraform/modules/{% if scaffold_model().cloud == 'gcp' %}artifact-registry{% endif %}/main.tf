# The service's Docker repository: immutable tags (CD promotes by digest) and
# encryption with a customer-managed key that rotates every 90 days.
data "google_project" "this" {
  project_id = var.project_id
}

resource "google_kms_key_ring" "this" {
  project  = var.project_id
  name     = "${var.repository_id}-registry"
  location = var.location
}

resource "google_kms_crypto_key" "this" {
  name            = "${var.repository_id}-registry"
  key_ring        = google_kms_key_ring.this.id
  rotation_period = "7776000s"
  labels          = var.labels

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "registry" {
  crypto_key_id = google_kms_crypto_key.this.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-artifactregistry.iam.gserviceaccount.com"
}

resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.location
  repository_id = var.repository_id
  description   = "Images of ${var.repository_id}"
  format        = "DOCKER"
  kms_key_name  = google_kms_crypto_key.this.id
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_count
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.registry]
}
