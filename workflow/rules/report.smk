# The benchmark summary over methods, trials and rounds.


rule report:
    input:
        all_metrics(),
    output:
        table=REPORT_TABLE,
        plot=REPORT_PLOT,
    params:
        title=f"{EXP}: mIoU vs clicks (mean; band: range over {len(TRIALS)} trials)",
        warmups=spec_json(WARMUP_OF),
    log:
        LOG("report", per_round=False),
    benchmark:
        BENCH("report", per_round=False)
    resources:
        runtime=runtime_of("report"),
        mem_mb=mem_mb_of("report"),
        **slurm_of("cpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal report --metrics {input} --table {output.table} --plot {output.plot}"
        " --warmup-of {params.warmups:q} --title {params.title:q} > {log} 2>&1"
