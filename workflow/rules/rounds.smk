# The active-learning loop. Round t of a method reads round t-1 of the same method; round 0 is
# the warm-up shared by every method of a trial (method folder "warmup").
#
#   predict(t-1) -> merge(t) -> acquire(t) -> query(t) -> sieve(t) -> train(t) -> evaluate(t)
#                                                                              -> predict(t)


rule draw_warmup:
    input:
        superpixels_of,
    output:
        R("queries").replace("{round}", "0"),
    wildcard_constraints:
        method=WARMUP_RE,
    params:
        budget=WARMUP_BUDGET,
        seed=config["seed"],
    log:
        LOG("draw_warmup").replace("{round}", "0"),
    benchmark:
        BENCH("draw_warmup").replace("{round}", "0")
    resources:
        runtime=runtime_of("draw_warmup"),
        mem_mb=mem_mb_of("draw_warmup"),
        **slurm_of("cpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal draw-warmup --superpixels {input} --budget {params.budget} --seed {params.seed}"
        " --trial {wildcards.trial} --out {output} > {log} 2>&1"


rule merge:
    input:
        superpixels=superpixels_of,
        stats=prev("stats"),
        labelled=prev("labelled"),
    output:
        R("merged"),
    wildcard_constraints:
        method=METHOD_RE,
        round=r"[1-9]\d*",
    params:
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "merge", int(wc.round))),
    log:
        LOG("merge"),
    benchmark:
        BENCH("merge")
    resources:
        runtime=runtime_of("merge"),
        mem_mb=mem_mb_of("merge"),
        **slurm_of("cpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal merge --superpixels {input.superpixels} --stats {input.stats}"
        " --labelled {input.labelled} --spec {params.spec:q} --out {output} > {log} 2>&1"


rule acquire:
    input:
        superpixels=superpixels_of,
        stats=prev("stats"),
        merged=R("merged"),
        labelled=prev("labelled"),
    output:
        R("queries"),
    wildcard_constraints:
        method=METHOD_RE,
        round=r"[1-9]\d*",
    params:
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "acquire")),
        budget=config["budget"],
        seed=config["seed"],
    log:
        LOG("acquire"),
    benchmark:
        BENCH("acquire")
    resources:
        runtime=runtime_of("acquire"),
        mem_mb=mem_mb_of("acquire"),
        **slurm_of("cpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal acquire --superpixels {input.superpixels} --stats {input.stats}"
        " --merged {input.merged} --labelled {input.labelled} --spec {params.spec:q}"
        " --budget {params.budget} --seed {params.seed} --trial {wildcards.trial}"
        " --round {wildcards.round} --out {output} > {log} 2>&1"


if HUMAN:

    # The human oracle: a local job (it runs where snakemake runs, a laptop or a login node)
    # that serves the labelling page, prints its address on the terminal and in the log, and
    # writes the same answers.csv and labelled.h5 as the simulated oracle once all are given.
    rule query:
        input:
            unpack(query_inputs),
        output:
            answers=R("answers"),
            labelled=R("labelled"),
        wildcard_constraints:
            method=ANY_METHOD_RE,
        localrule: True
        params:
            dataset=DATASET_JSON,
            extra=lambda wc, input: " ".join([optional("--merged", input.get("merged")),
                                              optional("--labelled", input.get("labelled"))]),
            host=ANNOTATE["host"],
            port=ANNOTATE["port"],
            more=(optional("--annotator", ANNOTATE["annotator"])
                  + (" --finish-when-done" if ANNOTATE["finish_when_done"] else "")),
            title=lambda wc: f"{EXP}: {wc.method}, trial {wc.trial}, round {wc.round}",
        log:
            LOG("query"),
        benchmark:
            BENCH("query")
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal annotate --dataset {params.dataset:q} --superpixels {input.superpixels}"
            " --queries {input.queries} {params.extra} --round {wildcards.round}"
            " --host {params.host} --port {params.port} {params.more} --title {params.title:q}"
            " --answers {output.answers} --labelled-out {output.labelled} 2>&1 | tee {log}"

else:

    rule query:
        input:
            unpack(query_inputs),
        output:
            answers=R("answers"),
            labelled=R("labelled"),
        wildcard_constraints:
            method=ANY_METHOD_RE,
        params:
            dataset=DATASET_JSON,
            extra=lambda wc, input: " ".join([optional("--merged", input.get("merged")),
                                              optional("--labelled", input.get("labelled"))]),
        log:
            LOG("query"),
        benchmark:
            BENCH("query")
        resources:
            runtime=runtime_of("query"),
            mem_mb=mem_mb_of("query"),
            **slurm_of("cpu"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal query --dataset {params.dataset:q} --queries {input.queries}"
            " --oracle-table {input.table} {params.extra} --round {wildcards.round}"
            " --answers {output.answers} --labelled-out {output.labelled} > {log} 2>&1"


rule sieve:
    input:
        unpack(sieve_inputs),
    output:
        R("sieved"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset=DATASET_JSON,
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "sieve")),
        extra=lambda wc, input: " ".join([optional("--model", input.get("model")),
                                          optional("--previous", input.get("previous")),
                                          FEATURES_ARG if input.get("model") else ""]),
        device=DEVICE,
    threads: 1
    log:
        LOG("sieve"),
    benchmark:
        BENCH("sieve")
    resources:
        runtime=runtime_of("sieve"),
        mem_mb=mem_mb_of("sieve"),
        gpu=GPUS,
        **slurm_of("gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal sieve --dataset {params.dataset:q} --superpixels {input.superpixels}"
        " --labelled {input.labelled} {params.extra} --spec {params.spec:q}"
        " --round {wildcards.round} --device {params.device} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule train:
    input:
        unpack(train_inputs),
    output:
        model=R("model"),
        log=R("train_log"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset=DATASET_JSON,
        spec=spec_json(config["train"]),
        seed=config["seed"],
        extra=lambda wc, input: " ".join([optional("--init", input.get("init")), FEATURES_ARG]),
    threads: max(1, config["train"].get("threads", 1))
    log:
        LOG("train"),
    benchmark:
        BENCH("train")
    resources:
        runtime=runtime_of("train"),
        mem_mb=mem_mb_of("train"),
        gpu=GPUS,
        **slurm_of("gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal train --dataset {params.dataset:q} --superpixels {input.superpixels}"
        " --sieved {input.sieved} {params.extra} --spec {params.spec:q} --seed {params.seed}"
        " --trial {wildcards.trial} --round {wildcards.round} --out {output.model}"
        " --log-out {output.log} > {log} 2>&1"


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        R("metrics"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset=DATASET_JSON,
        device=DEVICE,
        extra=lambda wc, input: " ".join([optional("--oracle-table", input.get("oracle")),
                                          optional("--merged", input.get("merged")),
                                          optional("--prev-stats", input.get("prev_stats")),
                                          FEATURES_ARG]),
    threads: 1
    log:
        LOG("evaluate"),
    benchmark:
        BENCH("evaluate")
    resources:
        runtime=runtime_of("evaluate"),
        mem_mb=mem_mb_of("evaluate"),
        gpu=GPUS,
        **slurm_of("gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal evaluate --dataset {params.dataset:q} --model {input.model}"
        " --labelled {input.labelled} --superpixels {input.superpixels} --sieved {input.sieved}"
        " --answers {input.answers} {params.extra}"
        " --method {wildcards.method} --trial {wildcards.trial}"
        " --round {wildcards.round} --device {params.device} --threads {threads}"
        + (" --without-labels" if HUMAN else "") + " --out {output} > {log} 2>&1"


rule predict:
    input:
        superpixels=superpixels_of,
        model=R("model"),
        features=FEATURES_INPUT,
    output:
        R("stats") if SHARDS == 1 else R("stats_shard"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset=DATASET_JSON,
        device=DEVICE,
        shard=lambda wildcards: f"--shard {wildcards.shard} --shards {SHARDS}" if SHARDS > 1 else "",
        features=FEATURES_ARG,
    threads: 1
    log:
        LOG("predict").replace(".log", ".log" if SHARDS == 1 else ".{shard}.log"),
    benchmark:
        BENCH("predict").replace(".tsv", ".tsv" if SHARDS == 1 else ".{shard}.tsv")
    resources:
        runtime=runtime_of("predict"),
        mem_mb=mem_mb_of("predict"),
        gpu=GPUS,
        **slurm_of("gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal predict --dataset {params.dataset:q} --superpixels {input.superpixels}"
        " --model {input.model} --device {params.device} --threads {threads} {params.shard}"
        " {params.features}"
        " --out {output} > {log} 2>&1"


if SHARDS > 1:

    rule gather_stats:
        input:
            lambda wildcards: expand(R("stats_shard"), shard=range(SHARDS), **wildcards),
        output:
            R("stats"),
        wildcard_constraints:
            method=ANY_METHOD_RE,
        log:
            LOG("gather_stats"),
        benchmark:
            BENCH("gather_stats")
        resources:
            runtime=runtime_of("predict"),
            mem_mb=mem_mb_of("predict"),
            **slurm_of("cpu"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage predict --shard-files {input} --out {output} > {log} 2>&1"
