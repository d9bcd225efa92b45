# The benchmark summary over methods, trials and rounds, and the pictures of `snakemake --report`.


rule report:
    input:
        unpack(get_input("report")),
    output:
        table=report_path(layout.REPORT_TABLE),
        plot=report(report_path(layout.REPORT_PLOT), caption="../report/miou_vs_clicks.rst",
                    category="1. Results"),
        rounds=report(report_path(layout.REPORT_ROUNDS), caption="../report/rounds.rst",
                      category="1. Results"),
        rounds_csv=report_path(layout.REPORT_ROUNDS_CSV),
        paired=report_path(layout.REPORT_PAIRED),
        purity=report(report_path(layout.REPORT_PURITY), caption="../report/purity_vs_size.rst",
                      category="1. Results"),
        figure=report(report_path(layout.REPORT_FIGURE), caption="../report/figure.rst",
                      category="1. Results"),
    params:
        inputs=input_options,
        title=f"asal report: {EXP}",
        warmups=spec_json(WARMUP_OF),
        baseline=f"--baseline {shlex.quote(BASELINE)}" if BASELINE else "",
        figure=REPORT_SETTINGS["figure"],
        info=spec_json(method_info(config, METHODS)),
        what_ran=WHAT_RAN,
        second=f"--second-baseline {shlex.quote(SECOND_BASELINE)}" if SECOND_BASELINE else "",
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
        " --figure {params.figure} --figure-out {output.figure} --methods-info {params.info:q}"
        " {params.second} --what-ran {params.what_ran:q}"
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


# What the labels were for: each method's last model (and Full's) applied to a folder of new
# images (segment.images), once the model exists; not part of the benchmark unless asked for.
rule segment:
    input:
        model=lambda wc: INPUTS.last_model(wc.method, wc.trial),
        images=SEGMENT_IMAGES,
    output:
        directory(results(layout.SEGMENT)),
    wildcard_constraints:
        method="|".join(re.escape(m) for m in METHODS + [layout.FULL]),
    params:
        folder=config["segment"]["images"] or "",
    threads: 1
    log:
        logs("segment", "segment"),
    benchmark:
        benchmarks("segment", "segment")
    resources:
        **resources_of("segment", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal segment {params.folder:q} --model {input.model} --out {output}"
        " --device {resources.device} --threads {threads} > {log} 2>&1"
