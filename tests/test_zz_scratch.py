def test_scratch(open_as):
    from kvnb.audit import audit_vault
    from kvnb.access import check_plan, seed_plan, list_role_assignments
    lead = open_as("lead")
    a = audit_vault(lead)
    for f in a.findings:
        print(f.id, f.severity, f.title, "|", "; ".join(f.affected))
    print(check_plan(lead, seed_plan(lead.name)))
    print(check_plan(lead, seed_plan(lead.name, lead=None)))
    df = list_role_assignments(lead)
    print(df.columns.tolist())
    print(df.to_string()[:3000])
