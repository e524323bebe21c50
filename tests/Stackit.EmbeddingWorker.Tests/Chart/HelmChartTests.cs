using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.VectorStore;
using YamlDotNet.Core;

namespace Stackit.EmbeddingWorker.Tests.Chart;

/// <summary>
/// What can be checked of the Helm chart without helm (not installable here): well-formed YAML, values
/// against the schema, the schema's refusals, and templates that refer only to values and settings that
/// exist. <see cref="ChartRenderingTests"/> renders it as helm does.
/// </summary>
public sealed partial class HelmChartTests
{
    private static readonly string ChartDirectory = Path.Combine(RepositoryPaths.Root, "charts", "stackit-embedding-worker");

    internal static readonly Dictionary<string, Type> OptionsBySection = new(StringComparer.Ordinal)
    {
        ["Queue"] = typeof(QueueOptions),
        ["Azure"] = typeof(AzureOptions),
        ["Blobs"] = typeof(BlobOptions),
        ["Backfill"] = typeof(Stackit.EmbeddingWorker.Backfill.BackfillOptions),
        ["Embeddings"] = typeof(EmbeddingsOptions),
        ["Batching"] = typeof(BatchingOptions),
        ["Chunking"] = typeof(ChunkingOptions),
        ["Qdrant"] = typeof(QdrantOptions),
        ["Fleet"] = typeof(Stackit.EmbeddingWorker.Embeddings.Throttling.FleetOptions),
    };

    [Theory]
    [InlineData("Chart.yaml")]
    [InlineData("values.yaml")]
    public void Chart_files_are_well_formed_yaml(string file)
    {
        var root = YamlToJson.Read(File.ReadAllText(Path.Combine(ChartDirectory, file)));

        Assert.IsType<JsonObject>(root);
    }

    [Fact]
    public void Yaml_reading_refuses_a_duplicate_key_as_helm_does()
    {
        Assert.ThrowsAny<YamlException>(() => YamlToJson.Read("replicaCount: 1\nreplicaCount: 2\n"));
    }

    [Fact]
    public void Default_values_satisfy_the_schema()
    {
        var result = Schema().Evaluate(Values(), new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(result.IsValid, Errors(result));
    }

    [Theory]
    [InlineData("an unknown top-level key", "replicas", "3")]
    [InlineData("the API key in the ConfigMap", "config.Embeddings.ApiKey", "\"sk-123\"")]
    [InlineData("the connection string in the ConfigMap", "config.Queue.ConnectionString", "\"DefaultEndpointsProtocol=https\"")]
    [InlineData("a port out of range", "management.port", "70000")]
    [InlineData("a number given as text", "shutdownTimeoutSeconds", "\"30\"")]
    [InlineData("a shutdown timeout too short to drain", "shutdownTimeoutSeconds", "1")]
    [InlineData("a zero KEDA target", "keda.queueLength", "0")]
    [InlineData("an unknown log format", "logFormat", "\"xml\"")]
    [InlineData("a duration Kubernetes-style", "config.Queue.VisibilityTimeout", "\"5m\"")]
    [InlineData("a queue name Azure refuses", "config.Queue.Name", "\"Documents_Live\"")]
    [InlineData("an image digest that is no sha256", "image.digest", "\"latest\"")]
    [InlineData("the backfill page key in the ConfigMap", "config.Backfill.PageKey", "\"k\"")]
    [InlineData("an unknown distance", "config.Qdrant.Distance", "\"cosine-ish\"")]
    [InlineData("a backfill schedule that is no cron expression", "backfill.schedule", "\"nightly\"")]
    [InlineData("a backfill longer than a day", "backfill.timeoutHours", "48")]
    [InlineData("a Job deadline that leaves the command no time to enqueue and switch", "backfill.deadlineMarginMinutes", "0")]
    [InlineData("a probe without time to answer", "probes.readiness.timeoutSeconds", "0")]
    [InlineData("an unknown probe setting", "probes.readiness.timeout", "5")]
    [InlineData("an extra environment variable without a name", "extraEnv", "[{\"value\": \"x\"}]")]
    [InlineData("an extra mount without a path", "extraVolumeMounts", "[{\"name\": \"ca\"}]")]
    [InlineData("a time zone that is no zone name", "backfill.timeZone", "\"+02:00\"")]
    [InlineData("workload identity without a client id", "workloadIdentity.enabled", "true")]
    [InlineData("the budget in the ConfigMap, where the CronJob would not share it", "config.Embeddings.TokensPerMinute", "100000")]
    [InlineData("a budget of no tokens", "budget.tokensPerMinute", "0")]
    [InlineData("a model's budget in the ConfigMap, where the CronJob would not share it", "config.Embeddings.ModelBudgets", "[{\"Model\": \"m\", \"TokensPerMinute\": 1}]")]
    [InlineData("a model's budget that names no model", "budget.models", "[{\"tokensPerMinute\": 100000}]")]
    [InlineData("a model's budget of no requests", "budget.models", "[{\"model\": \"m\", \"requestsPerMinute\": 0}]")]
    [InlineData("an unknown way to share the budget", "config.Fleet.Coordination", "\"Redis\"")]
    [InlineData("the tokenizer's path in the ConfigMap, where nothing mounts the file", "config.Embeddings.TokenizerFile", "\"/models/tokenizer.model\"")]
    [InlineData("a tokenizer file of a kind the worker cannot read", "tokenizer.key", "\"tokenizer.json\"")]
    public void Schema_refuses(string mistake, string path, string json)
    {
        var values = Values();
        Set(values, path, JsonNode.Parse(json));

        var result = Schema().Evaluate(values);

        Assert.False(result.IsValid, $"the schema accepted {mistake} ({path} = {json})");
    }

    [Fact]
    public void Every_setting_in_values_config_and_in_the_schema_is_one_the_worker_reads()
    {
        var config = Values()["config"]!.AsObject();
        var schemaConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(ChartDirectory, "values.schema.json")))!["properties"]!["config"]!["properties"]!.AsObject();
        var unknown = new List<string>();
        foreach (var (source, sections) in new[] { ("values.yaml", config), ("values.schema.json", schemaConfig) })
        {
            foreach (var (section, keys) in sections)
            {
                var keyNames = source == "values.yaml" ? keys!.AsObject().Select(k => k.Key) : keys!["properties"]!.AsObject().Select(k => k.Key);
                foreach (var key in keyNames)
                {
                    if (!OptionsBySection.TryGetValue(section, out var options) || options.GetProperty(key, BindingFlags.Public | BindingFlags.Instance) is null)
                    {
                        unknown.Add($"{source}: {section}:{key}");
                    }
                }
            }
        }

        Assert.Empty(unknown);
    }

    [Fact]
    public void The_backfill_CronJob_never_runs_twice_at_once_and_runs_the_backfill_command_as_the_worker_runs()
    {
        var cronJob = File.ReadAllText(Path.Combine(ChartDirectory, "templates", "cronjob.yaml"));

        Assert.Contains("concurrencyPolicy: Forbid", cronJob, StringComparison.Ordinal);
        Assert.Contains("- backfill", cronJob, StringComparison.Ordinal);
        foreach (var shared in new[] { "worker.podSecurityContext", "worker.containerSecurityContext", "worker.secretEnv", "worker.volumeMounts", "worker.volumes" })
        {
            Assert.Contains($"include \"{shared}\"", cronJob, StringComparison.Ordinal);
            Assert.Contains($"include \"{shared}\"", File.ReadAllText(Path.Combine(ChartDirectory, "templates", "deployment.yaml")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_backfill_CronJobs_pods_are_never_selected_by_the_PDB_or_the_metrics_Service()
    {
        // Before, they carried the worker's selector labels: the PDB counted them and the Service sent scrapes there.
        var cronJob = Template("cronjob.yaml");
        var pod = cronJob[cronJob.IndexOf("template:", StringComparison.Ordinal)..];

        Assert.DoesNotContain("worker.selectorLabels", pod, StringComparison.Ordinal);
        Assert.Contains("include \"worker.backfillSelectorLabels\"", pod, StringComparison.Ordinal);
        Assert.Contains("-backfill", Template("_helpers.tpl")[Template("_helpers.tpl").IndexOf("worker.backfillSelectorLabels", StringComparison.Ordinal)..], StringComparison.Ordinal);
        foreach (var selecting in new[] { "pdb.yaml", "service.yaml" })
        {
            Assert.Contains("include \"worker.selectorLabels\"", Template(selecting), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Hardening_defaults_a_network_policy_no_service_account_token_evictable_unready_pods_and_images_by_digest()
    {
        var values = Values();

        Assert.True(values["networkPolicy"]!["enabled"]!.GetValue<bool>());
        Assert.False(values["serviceAccount"]!["automountToken"]!.GetValue<bool>());
        var policy = Template("networkpolicy.yaml");
        Assert.Contains("kind: NetworkPolicy", policy, StringComparison.Ordinal);
        Assert.Contains("- Ingress", policy, StringComparison.Ordinal);
        Assert.Contains("- Egress", policy, StringComparison.Ordinal);
        Assert.Contains("port: {{ $.Values.management.port }}", policy, StringComparison.Ordinal);
        Assert.Contains("unhealthyPodEvictionPolicy: AlwaysAllow", Template("pdb.yaml"), StringComparison.Ordinal);
        foreach (var workload in new[] { "deployment.yaml", "cronjob.yaml" })
        {
            Assert.Contains("automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}", Template(workload), StringComparison.Ordinal);
            Assert.Contains("image: {{ include \"worker.image\" . | quote }}", Template(workload), StringComparison.Ordinal);
        }
        Assert.Contains("{{ .Values.image.repository }}@{{ .Values.image.digest }}", Template("_helpers.tpl"), StringComparison.Ordinal);
        // Secrets of their own for claim-check blobs and backfill pages, from the Secret, never the ConfigMap.
        foreach (var (variable, key) in new[] { ("Blobs__ConnectionString", "blob-connection-string"), ("Backfill__PageKey", "backfill-page-key") })
        {
            Assert.Contains($"- name: {variable}", Template("_helpers.tpl"), StringComparison.Ordinal);
            Assert.Contains($"{key}:", Template("secret.yaml"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void KEDA_with_a_TriggerAuthentication_names_the_storage_account_and_workload_identity_without_one_is_refused()
    {
        // With pod identity the azure-queue scaler needs accountName; with workload identity and no TriggerAuthentication
        // it read an empty connection string (issue 31, finding 2). A check of the template's text until it is rendered.
        var scaledObject = Template("scaledobject.yaml");
        Assert.Equal(2, Regex.Count(scaledObject, @"\{\{- else \}\}\s+accountName: \{\{ \$account \| quote \}\}"));
        Assert.Contains("urlParse ((.Values.config.Queue).ServiceUri", scaledObject, StringComparison.Ordinal);
        Assert.Contains("{{- if and .Values.workloadIdentity.enabled (not .Values.keda.authenticationRef) }}\n{{- fail", scaledObject, StringComparison.Ordinal);
        Assert.Equal("", Values()["keda"]!["accountName"]!.GetValue<string>());
    }

    [Fact]
    public void Both_workloads_take_extra_environment_and_volumes_and_the_scheduling_settings()
    {
        // values.schema.json forbade extra env and volumes (Qdrant:CertificateFile could not be mounted), and the CronJob
        // had no scheduling settings, time zone or TTL (issue 31, finding 5). Checks of the templates' text.
        var helper = Template("_helpers.tpl");
        Assert.Contains("{{- with .Values.extraVolumeMounts }}", helper, StringComparison.Ordinal);
        Assert.Contains("{{- with .Values.extraVolumes }}", helper, StringComparison.Ordinal);
        Assert.Contains("{{- with .Values.extraEnv }}", helper, StringComparison.Ordinal);
        foreach (var workload in new[] { "deployment.yaml", "cronjob.yaml", "tests/status.yaml" })
        {
            var text = Template(workload);
            Assert.Contains("include \"worker.extraEnv\"", text, StringComparison.Ordinal);
            Assert.Contains("{{- with .Values.envFrom }}", text, StringComparison.Ordinal);
            Assert.Contains("include \"worker.volumes\"", text, StringComparison.Ordinal);
        }
        foreach (var setting in new[] { "priorityClassName", "nodeSelector", "tolerations", "affinity" })
        {
            Assert.Contains($"{{{{- with .Values.{setting} }}}}", Template("cronjob.yaml"), StringComparison.Ordinal);
            Assert.Contains($"{{{{- with .Values.{setting} }}}}", Template("deployment.yaml"), StringComparison.Ordinal);
        }
        Assert.Contains("{{- with .Values.topologySpreadConstraints }}", Template("deployment.yaml"), StringComparison.Ordinal);
        Assert.Contains("timeZone: {{ . | quote }}", Template("cronjob.yaml"), StringComparison.Ordinal);
        Assert.Contains("ttlSecondsAfterFinished: {{ .Values.backfill.ttlSecondsAfterFinished | int64 }}", Template("cronjob.yaml"), StringComparison.Ordinal);
        var values = Values();
        Set(values, "extraEnv", JsonNode.Parse("""[{ "name": "Qdrant__CertificateFile", "value": "/etc/qdrant-ca/ca.crt" }]"""));
        Set(values, "extraVolumes", JsonNode.Parse("""[{ "name": "qdrant-ca", "secret": { "secretName": "qdrant-ca" } }]"""));
        Set(values, "extraVolumeMounts", JsonNode.Parse("""[{ "name": "qdrant-ca", "mountPath": "/etc/qdrant-ca", "readOnly": true }]"""));
        Set(values, "envFrom", JsonNode.Parse("""[{ "secretRef": { "name": "more" } }]"""));
        Set(values, "topologySpreadConstraints", JsonNode.Parse("""[{ "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway" }]"""));
        Set(values, "priorityClassName", JsonNode.Parse("\"batch-low\""));
        Set(values, "backfill.timeZone", JsonNode.Parse("\"Europe/Berlin\""));
        Assert.True(Schema().Evaluate(values).IsValid, "the schema refused the escape hatches");
    }

    [Fact]
    public void A_helm_test_runs_status_and_NOTES_say_how_to_look_at_the_release()
    {
        var test = Template("tests/status.yaml");
        Assert.Contains("helm.sh/hook: test", test, StringComparison.Ordinal);
        Assert.Contains("args: [\"status\"]", test, StringComparison.Ordinal);
        Assert.Contains("include \"worker.secretEnv\"", test, StringComparison.Ordinal);
        var notes = Template("NOTES.txt");
        Assert.Contains("-- /app/Stackit.EmbeddingWorker status", notes, StringComparison.Ordinal);
        Assert.Contains("helm test {{ .Release.Name }}", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readiness_probe_waits_longer_than_the_worker_takes_to_answer_it()
    {
        // /readyz may take Management:ReadinessTimeout (3 s); the kubelet's default of 1 s failed healthy pods.
        var readiness = Values()["probes"]!["readiness"]!;
        Assert.True(readiness["timeoutSeconds"]!.GetValue<long>() > new Stackit.EmbeddingWorker.Management.ManagementOptions().ReadinessTimeout.TotalSeconds);
        Assert.Contains("toYaml .Values.probes.readiness", Template("deployment.yaml"), StringComparison.Ordinal);
        Assert.Contains("toYaml .Values.probes.liveness", Template("deployment.yaml"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_rotated_secret_rolls_the_pods_and_the_CronJobs_deadline_is_longer_than_the_commands_timeout()
    {
        foreach (var workload in new[] { "deployment.yaml", "cronjob.yaml" })
        {
            Assert.Contains("checksum/secret: {{ include (print $.Template.BasePath \"/secret.yaml\") . | sha256sum }}", Template(workload), StringComparison.Ordinal);
        }
        // The command's --timeout counts from the last page enqueued; the Job killed every long run before it ended.
        Assert.Contains("activeDeadlineSeconds: {{ add (mul .Values.backfill.timeoutHours 3600) (mul .Values.backfill.deadlineMarginMinutes 60) }}", Template("cronjob.yaml"), StringComparison.Ordinal);
        Assert.True(Values()["backfill"]!["deadlineMarginMinutes"]!.GetValue<long>() >= 10);
    }

    [Fact]
    public void The_service_accounts_annotations_sit_under_its_metadata_not_under_a_top_level_field()
    {
        // With workloadIdentity.enabled or any serviceAccount.annotations, "annotations:" came after the top-level
        // automountServiceAccountToken, indented: the manifest was invalid YAML ("mapping values are not allowed").
        // A check of the template's text, until the chart is rendered in the tests (issue 31).
        var lines = Template("serviceaccount.yaml").Split('\n');
        var metadata = Array.FindIndex(lines, l => l == "metadata:");
        var nextTopLevel = Array.FindIndex(lines, metadata + 1, l => l.Length > 0 && char.IsAsciiLetter(l[0]));
        var annotations = Array.FindIndex(lines, l => l.TrimEnd() == "  annotations:");

        Assert.InRange(annotations, metadata + 1, nextTopLevel - 1);
    }

    [Fact]
    public void Workload_identity_is_one_switch_that_annotates_the_service_account_labels_both_pods_and_picks_the_credential()
    {
        Assert.False(Values()["workloadIdentity"]!["enabled"]!.GetValue<bool>());
        Assert.Contains("azure.workload.identity/client-id:", Template("serviceaccount.yaml"), StringComparison.Ordinal);
        Assert.Contains("azure.workload.identity/use: \"true\"", Template("_helpers.tpl"), StringComparison.Ordinal);
        Assert.Contains("value: WorkloadIdentity", Template("_helpers.tpl"), StringComparison.Ordinal);
        foreach (var workload in new[] { "deployment.yaml", "cronjob.yaml" })
        {
            Assert.Contains("include \"worker.identityLabels\"", Template(workload), StringComparison.Ordinal);
            Assert.Contains("include \"worker.secretEnv\"", Template(workload), StringComparison.Ordinal);
        }
        Assert.Equal(AzureCredentialKind.WorkloadIdentity, Enum.Parse<AzureCredentialKind>("WorkloadIdentity"));
        Assert.IsType<Azure.Identity.WorkloadIdentityCredential>(new AzureOptions { Credential = AzureCredentialKind.WorkloadIdentity }.CreateCredential(), exactMatch: false);
    }

    [Fact]
    public void The_budget_is_set_once_for_the_release_and_both_the_workers_and_the_CronJob_share_it()
    {
        var budget = Values()["budget"]!;
        Assert.Null(budget["tokensPerMinute"]);
        Assert.Null(budget["requestsPerMinute"]);
        var helper = Template("_helpers.tpl");
        Assert.Contains("name: Embeddings__TokensPerMinute", helper, StringComparison.Ordinal);
        Assert.Contains("name: Embeddings__RequestsPerMinute", helper, StringComparison.Ordinal);
        // Each model's own budget (a migration's new model draws on its own), in the section the worker binds.
        Assert.Empty(budget["models"]!.AsArray());
        Assert.Contains("name: Embeddings__ModelBudgets__{{ $i }}__Model", helper, StringComparison.Ordinal);
        Assert.Contains("name: Embeddings__ModelBudgets__{{ $i }}__TokensPerMinute", helper, StringComparison.Ordinal);
        Assert.Contains("name: Embeddings__ModelBudgets__{{ $i }}__RequestsPerMinute", helper, StringComparison.Ordinal);
        // The count a replica divides the budget by without the ledger is the most replicas the release scales to.
        Assert.Contains("name: Fleet__MaxReplicas", helper, StringComparison.Ordinal);
        Assert.Contains(".Values.keda.maxReplicaCount", helper, StringComparison.Ordinal);
        AssertWorkloadsInclude("worker.budgetEnv");
    }

    [Fact]
    public void A_tokenizer_from_a_ConfigMap_is_mounted_and_named_to_the_workers_and_the_CronJob()
    {
        var tokenizer = Values()["tokenizer"]!;
        Assert.Equal("", tokenizer["configMap"]!.GetValue<string>());
        Assert.Equal("tokenizer.model", tokenizer["key"]!.GetValue<string>());
        var helper = Template("_helpers.tpl");
        Assert.Contains("name: Embeddings__TokenizerFile", helper, StringComparison.Ordinal);
        Assert.Contains("printf \"/etc/embedding-worker/tokenizer/%s\" .Values.tokenizer.key", helper, StringComparison.Ordinal);
        Assert.Contains("mountPath: /etc/embedding-worker/tokenizer", helper, StringComparison.Ordinal);
        Assert.Contains("name: {{ .Values.tokenizer.configMap }}", helper, StringComparison.Ordinal);
        AssertWorkloadsInclude("worker.tokenizerEnv", "worker.volumes", "worker.volumeMounts");
    }

    /// <summary>Both the replicas' Deployment and the backfill CronJob include each of these helpers.</summary>
    private static void AssertWorkloadsInclude(params string[] helpers)
    {
        foreach (var workload in new[] { "deployment.yaml", "cronjob.yaml" })
        {
            foreach (var helper in helpers)
            {
                Assert.Contains($"include \"{helper}\"", Template(workload), StringComparison.Ordinal);
            }
        }
    }

    private static string Template(string name) => File.ReadAllText(Path.Combine(ChartDirectory, "templates", name));

    [Fact]
    public void Templates_refer_only_to_values_that_exist()
    {
        var values = Values();
        var missing = new List<string>();
        foreach (var template in Directory.EnumerateFiles(Path.Combine(ChartDirectory, "templates"), "*", SearchOption.AllDirectories))
        {
            foreach (Match reference in ValuesReference().Matches(File.ReadAllText(template)))
            {
                if (!Resolves(values, reference.Groups[1].Value))
                {
                    missing.Add($"{Path.GetFileName(template)}: .Values.{reference.Groups[1].Value}");
                }
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void Templates_close_every_block_they_open()
    {
        foreach (var template in Directory.EnumerateFiles(Path.Combine(ChartDirectory, "templates"), "*", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(template);
            var opened = BlockOpen().Matches(text).Count;
            var closed = BlockEnd().Matches(text).Count;

            Assert.True(opened == closed, $"{Path.GetFileName(template)} opens {opened} blocks and ends {closed}");
            Assert.Equal(text.Split("{{").Length, text.Split("}}").Length);
        }
    }

    private static bool Resolves(JsonNode values, string path)
    {
        JsonNode? node = values;
        foreach (var part in path.Split('.'))
        {
            if (node is not JsonObject obj || !obj.ContainsKey(part))
            {
                return false;
            }
            node = obj[part];
        }
        return true;
    }

    private static JsonObject Values() => YamlToJson.Read(File.ReadAllText(Path.Combine(ChartDirectory, "values.yaml")))!.AsObject();

    private static JsonSchema Schema() => JsonSchema.FromFile(Path.Combine(ChartDirectory, "values.schema.json"));

    private static void Set(JsonObject values, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        var parent = values;
        foreach (var part in parts[..^1])
        {
            parent = (parent[part] ??= new JsonObject()).AsObject();
        }
        parent[parts[^1]] = value;
    }

    private static string Errors(EvaluationResults result) =>
        string.Join("; ", result.Details.Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"\{\{-?\s*(if|with|range|define)\b")]
    private static partial Regex BlockOpen();

    [GeneratedRegex(@"\{\{-?\s*end\b")]
    private static partial Regex BlockEnd();
}
