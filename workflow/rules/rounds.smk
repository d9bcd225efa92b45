# The active-learning loop. Round t of a method reads round t-1 of the same method; round 0 is
# the warm-up shared by every method of a trial (method folder "warmup").
#
#   predict(t-1) -> merge(t) -> acquire(t) -> query(t) -> sieve(t) -> train(t) -> evaluate(t)
#                                                                              -> predict(t)


rule warmup:
    input:
        superpixels_of,
    output:
        P(layout.warmup_file("queries")),
    wildcard_constraints:
        method=WARMUP_RE,
    params:
        budget=WARMUP_BUDGET,
        seed=config["seed"],
    log:
        LOG("warmup", "warmup"),
    benchmark:
        BENCH("warmup", "warmup")
    resources:
        **resources_of("warmup"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal warmup --superpixels {input} --budget {params.budget} --seed {params.seed}"
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
        **resources_of("merge"),
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
        **resources_of("acquire"),
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
            **resources_of("query"),
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
        **resources_of("sieve", "gpu"),
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
        **resources_of("train", "gpu"),
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
        **resources_of("evaluate", "gpu"),
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
        LOG("predict", "round" if SHARDS == 1 else "round_shard"),
    benchmark:
        BENCH("predict", "round" if SHARDS == 1 else "round_shard")
    resources:
        **resources_of("predict", "gpu"),
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
            **resources_of("predict"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage predict --shard-files {input} --out {output} > {log} 2>&1"
