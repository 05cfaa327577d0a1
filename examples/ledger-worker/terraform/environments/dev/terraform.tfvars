# Values for dev, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "ledger-worker"
environment     = "dev"
namespace       = "ledger-worker-dev"
project_id      = "platform-dev"
region          = "europe-west1"
service_account = "ledger-worker"
identity_name   = "ledger-worker-dev"
create_registry = false
registry_name   = "ledger-worker"
