# The benchmark summary over methods, trials and rounds, and the pictures of `snakemake --report`.


rule report:
    input:
        metrics=all_metrics(),
        superpixels=REPORT_SUPERPIXELS,
        oracle=REPORT_ORACLE,
    output:
        table=REPORT_TABLE,
        plot=report(REPORT_PLOT, caption="../report/miou_vs_clicks.rst", category="1. Results"),
        rounds=report(REPORT(layout.REPORT_ROUNDS), caption="../report/rounds.rst",
                      category="1. Results"),
        rounds_csv=REPORT(layout.REPORT_ROUNDS_CSV),
        paired=REPORT(layout.REPORT_PAIRED),
        purity=report(REPORT(layout.REPORT_PURITY), caption="../report/purity_vs_size.rst",
                      category="1. Results"),
        figure=report(REPORT(layout.REPORT_FIGURE), caption="../report/figure.rst",
                      category="1. Results"),
    params:
        title=f"asal report: {EXP}",
        warmups=spec_json(WARMUP_OF),
        baseline=f"--baseline {shlex.quote(BASELINE)}" if BASELINE else "",
        figure=REPORT_SETTINGS.get("figure", "clicks"),
        info=spec_json(method_info(config, METHODS)),
        what_ran=WHAT_RAN,
        oracle=lambda wildcards, input: optional("--oracle-table", input.oracle),
        second=f"--second-baseline {shlex.quote(SECOND_BASELINE)}" if SECOND_BASELINE else "",
    log:
        LOG("report", "experiment"),
    benchmark:
        BENCH("report", "experiment")
    resources:
        **resources_of("report"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal report --metrics {input.metrics} --table {output.table} --plot {output.plot}"
        " --rounds {output.rounds} --rounds-csv {output.rounds_csv} {params.baseline}"
        " --paired {output.paired} --purity {output.purity} --warmup-of {params.warmups:q}"
        " --figure {params.figure} --figure-out {output.figure} --methods-info {params.info:q}"
        " --superpixels {input.superpixels} {params.oracle} {params.second}"
        " --what-ran {params.what_ran:q}"
        " --title {params.title:q} > {log} 2>&1"


rule draw:
    input:
        unpack(draw_inputs),
    output:
        report(directory(P(layout.PICTURES)), patterns=["{name}.png"],
               caption="../report/pictures.rst", category="2. Pictures",
               subcategory="{method}, trial {trial}, round {round}",
               labels={"picture": "{name}"}),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        settings=lambda wildcards: spec_json(draw_settings(config, wildcards.method)),
    log:
        LOG("draw"),
    benchmark:
        BENCH("draw")
    resources:
        **resources_of("draw"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal draw --settings {params.settings:q} --method {wildcards.method}"
        " --trial {wildcards.trial} --round {wildcards.round} --out {output} > {log} 2>&1"
