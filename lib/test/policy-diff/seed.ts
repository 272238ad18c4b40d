/** The seed `make test` and `make test-policy-diff` use unless POLICY_DIFF_SEED says otherwise (issue number of the policy audit). */
export const DEFAULT_SEED = 16;
