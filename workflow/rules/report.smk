# The benchmark summary over methods, trials and rounds, and the pictures of `snakemake --report`.


rule report:
    input:
        unpack(get_input("report")),
    output:
        table=results(layout.REPORT_TABLE),
        plot=report(results(layout.REPORT_PLOT), caption="../report/miou_vs_clicks.rst",
                    category="1. Results"),
        rounds=report(results(layout.REPORT_ROUNDS), caption="../report/rounds.rst",
                      category="1. Results"),
        rounds_csv=results(layout.REPORT_ROUNDS_CSV),
        paired=results(layout.REPORT_PAIRED),
        purity=report(results(layout.REPORT_PURITY), caption="../report/purity_vs_size.rst",
                      category="1. Results"),
    params:
        inputs=input_options,
        title=f"{EXP}: mIoU vs clicks (mean; band: range over {config['trials']} trials)",
        warmups=spec_json(WARMUP_OF),
        baseline=f"--baseline {shlex.quote(BASELINE)}" if BASELINE else "",
    log:
        logs("report", "experiment"),
    benchmark:
        benchmarks("report", "experiment")
    resources:
        **resources_of("report"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal report {params.inputs} --table {output.table} --plot {output.plot}"
        " --rounds {output.rounds} --rounds-csv {output.rounds_csv} {params.baseline}"
        " --paired {output.paired} --purity {output.purity} --warmup-of {params.warmups:q}"
        " --title {params.title:q} > {log} 2>&1"


rule draw:
    input:
        unpack(get_input("draw")),
    output:
        report(directory(results(layout.PICTURES)), patterns=["{name}.png"],
               caption="../report/pictures.rst", category="2. Pictures",
               subcategory="{method}, trial {trial}, round {round}",
               labels={"picture": "{name}"}),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
        spec=spec_json(config["draw"]),
        seed=config["seed"],
    log:
        logs("draw"),
    benchmark:
        benchmarks("draw")
    resources:
        **resources_of("draw"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal draw {params.inputs} --dataset {params.dataset:q} --spec {params.spec:q}"
        " --seed {params.seed} --method {wildcards.method} --trial {wildcards.trial}"
        " --round {wildcards.round} --out {output} > {log} 2>&1"
