# Workload Identity: the Kubernetes service account <namespace>/<service_account>
# acts as a dedicated Google service account, with no exported key.
resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.account_id
  display_name = "Workload identity of ${var.namespace}/${var.service_account}"
}

resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = google_service_account.this.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.namespace}/${var.service_account}]"
}
