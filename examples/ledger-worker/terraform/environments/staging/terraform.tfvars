# Values for staging, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "ledger-worker"
environment     = "staging"
namespace       = "ledger-worker-staging"
project_id      = "platform-staging"
region          = "europe-west1"
service_account = "ledger-worker"
identity_name   = "ledger-worker-staging"
create_registry = false
registry_name   = "ledger-worker"
