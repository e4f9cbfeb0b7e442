# Infrastructure targets, included by the root Makefile (which defines VENV, PY, INSTALLED and
# INFRA_INSTALLED: the .venv with the CDK toolchain of infra/requirements.txt).
#
#   make synth                 CloudFormation for every stage -> infra/cdk.out/ (offline)
#   make infra-lint            synth, then cfn-lint on the templates
#   make package               the Lambda zip, without boto3/botocore -> infra/dist/
#   make bootstrap             once per AWS account and region: the CDK's asset bucket and roles
#   make diff STAGE=prod       what a deploy would change
#   make deploy STAGE=prod     deploy one stage (default dev) with the pinned CDK CLI
#   make destroy STAGE=dev     delete a stage's stack (prod is refused; its data is retained)
#
# deploy/diff/destroy/bootstrap use your AWS credentials and region (AWS_PROFILE,
# AWS_REGION, ...); synth and package need none.

STAGE ?= dev
INFRA := infra
CDK_OUT := $(INFRA)/cdk.out
PACKAGE_DIR ?= $(INFRA)/dist
CDK_CLI_INSTALLED := $(INFRA)/node_modules/.installed
# --require-approval for deploy: "broadening" asks before widening IAM or security groups.
CDK_APPROVAL ?= broadening
CDK := cd $(INFRA) && ./node_modules/.bin/cdk

.PHONY: synth infra-lint package bootstrap diff deploy destroy infra-clean

# The CDK CLI, pinned in infra/package.json and package-lock.json (needs Node.js and npm).
$(CDK_CLI_INSTALLED): $(INFRA)/package.json $(INFRA)/package-lock.json
	cd $(INFRA) && npm ci --no-audit --no-fund
	@touch $@

synth: $(INFRA_INSTALLED)
	rm -rf $(CDK_OUT) $(INFRA)/chalice.out
	cd $(INFRA) && $(abspath $(PY)) cdk_app.py  # in infra/: Chalice writes chalice.out/ to the cwd
	@ls -1 $(CDK_OUT)/*.template.json

infra-lint: synth
	$(VENV)/bin/cfn-lint $(CDK_OUT)/*.template.json

# chalice package writes deployment.zip and sam.json; slimming removes what Lambda's Python
# runtime provides and fails above the 5 MB budget. The zip CDK deploys is slimmed the same
# way during synthesis (infra/pairings_infra/chalice_app.py).
package: $(INFRA_INSTALLED)
	rm -rf $(PACKAGE_DIR)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} \
		$(VENV)/bin/chalice package --stage dev $(PACKAGE_DIR)
	PYTHONPATH=$(INFRA) $(PY) -m pairings_infra.slim $(PACKAGE_DIR)/deployment.zip

bootstrap: $(INFRA_INSTALLED) $(CDK_CLI_INSTALLED)
	$(CDK) bootstrap

diff: $(INFRA_INSTALLED) $(CDK_CLI_INSTALLED)
	rm -rf $(INFRA)/chalice.out
	$(CDK) diff -c stage=$(STAGE)

deploy: $(INFRA_INSTALLED) $(CDK_CLI_INSTALLED)
	rm -rf $(INFRA)/chalice.out
	$(CDK) deploy -c stage=$(STAGE) --require-approval $(CDK_APPROVAL) \
		--outputs-file cdk-outputs-$(STAGE).json

destroy: $(INFRA_INSTALLED) $(CDK_CLI_INSTALLED)
	@if [ "$(STAGE)" = prod ]; then \
		echo "refusing to destroy prod (termination protection; tables are retained)" >&2; \
		exit 1; \
	fi
	$(CDK) destroy -c stage=$(STAGE)

# Also Chalice's package cache (one zip per version of requirements.txt and the app code).
infra-clean:
	rm -rf $(CDK_OUT) $(INFRA)/chalice.out $(PACKAGE_DIR) $(INFRA)/node_modules .chalice/deployments
