# Values for prod, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "ledger-worker"
environment     = "prod"
namespace       = "ledger-worker-prod"
project_id      = "platform-prod"
region          = "europe-west1"
service_account = "ledger-worker"
identity_name   = "ledger-worker-prod"
create_registry = false
registry_name   = "ledger-worker"
