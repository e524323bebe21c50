using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using k8s.Models;
using Stackit.EmbeddingWorker.Management;
using Stackit.EmbeddingWorker.Testing.ChartRendering;

namespace Stackit.EmbeddingWorker.Tests.Chart;

/// <summary>
/// The chart rendered as <c>helm template</c> renders it (<see cref="ChartRenderer"/>: Go's text/template, sprig and
/// helm's functions), for a matrix of values: every combination renders, its values pass the schema, every document
/// is valid YAML and every object of a built-in kind reads strictly into the Kubernetes API's models.
/// </summary>
public sealed partial class ChartRenderingTests
{
    private const string Secrets = "secrets:\n  apiKey: sk-test\n  queueConnectionString: UseDevelopmentStorage=true\n";

    /// <summary>
    /// The values matrix, one file per combination in the chart's <c>ci/</c> folder (helm's convention; the hosted CI
    /// renders the same files with helm): each switch an operator may turn, alone or with the ones it is used with.
    /// </summary>
    private static readonly Dictionary<string, string> Cases = Directory
        .GetFiles(Path.Combine(ChartRenderer.ChartDirectory, "ci"), "*-values.yaml")
        .ToDictionary(f => Path.GetFileName(f)[..^"-values.yaml".Length], File.ReadAllText, StringComparer.Ordinal);

    public static TheoryData<string> Combinations() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_values_combination_renders_into_objects_the_Kubernetes_API_accepts(string combination)
    {
        var values = Cases[combination];
        await RenderedChart.SkipUnlessAvailableAsync();
        var render = await ChartRenderer.RenderAsync(values);
        Assert.True(render.Succeeded, $"{combination}: {render.Error}");

        var schema = JsonSchema.FromFile(Path.Combine(ChartRenderer.ChartDirectory, "values.schema.json"));
        var check = schema.Evaluate(JsonNode.Parse(render.ValuesJson), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(check.IsValid, $"{combination}: the values fail the schema (helm refuses them before rendering)");

        var documents = RenderedChart.Split(render.Manifests);
        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            var type = $"{document.ApiVersion}/{document.Kind}";
            if (RenderedChart.CustomKinds.Contains(type))
            {
                Assert.NotNull(document.At("metadata.name"));
                Assert.NotNull(document.At("spec"));
                continue;
            }
            var model = RenderedChart.Strict(document);
            Assert.Equal(document.Kind, model.GetType().GetProperty("Kind")!.GetValue(model));
        }
        // sprig prints a float64 of a million or more as 1e+06: a number the worker's configuration cannot bind.
        Assert.DoesNotMatch(ScientificNumber(), render.Manifests);
        Assert.False(string.IsNullOrWhiteSpace(render.Notes), $"{combination}: NOTES.txt rendered empty");

        foreach (var pod in PodSpecs(documents))
        {
            var volumes = (pod.Volumes ?? []).Select(v => v.Name).ToHashSet();
            foreach (var container in pod.Containers)
            {
                Assert.All(container.VolumeMounts ?? [], m => Assert.Contains(m.Name, volumes));
                var names = (container.Env ?? []).Select(e => e.Name).ToList();
                Assert.Equal(names.Count, names.Distinct().Count());
            }
        }
        foreach (var config in documents.Where(d => d.Kind == "ConfigMap" && d.Source.EndsWith("configmap.yaml", StringComparison.Ordinal)))
        {
            using var json = JsonDocument.Parse((string)config.At("data")!["appsettings.Production.json"]!);
        }
    }

    [Fact]
    public async Task Workload_identity_annotates_the_service_account_in_its_metadata()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var documents = await RenderedChart.RenderAsync(Cases["workload-identity"]);

        var account = Assert.IsType<V1ServiceAccount>(RenderedChart.Strict(documents.Single(d => d.Kind == "ServiceAccount")));
        Assert.Equal("00000000-0000-0000-0000-000000000001", account.Metadata.Annotations["azure.workload.identity/client-id"]);
        Assert.Equal("search", account.Metadata.Annotations["team"]);
        Assert.False(account.AutomountServiceAccountToken);
        var deployment = Deployment(documents);
        Assert.Equal("true", deployment.Spec.Template.Metadata.Labels["azure.workload.identity/use"]);
    }

    [Fact]
    public async Task KEDA_with_workload_identity_names_the_storage_account_on_every_trigger()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var values = Cases["keda-with-workload-identity"] + "backfill:\n  enabled: true\n";
        var documents = await RenderedChart.RenderAsync(values);

        var triggers = documents.Single(d => d.Kind == "ScaledObject").At("spec.triggers")!.AsArray();
        Assert.Equal(2, triggers.Count);
        Assert.All(triggers, t =>
        {
            Assert.Equal("account1", (string)t!["metadata"]!["accountName"]!);
            Assert.Null(t["metadata"]!["connectionFromEnv"]);
            Assert.Equal("workload-identity", (string)t["authenticationRef"]!["name"]!);
        });
    }

    [Theory]
    [InlineData("workloadIdentity:\n  enabled: true\nkeda:\n  enabled: true\n", "keda.authenticationRef")]
    [InlineData("keda:\n  enabled: true\n  authenticationRef: wi\n", "keda.accountName or config.Queue.ServiceUri")]
    [InlineData("keda:\n  enabled: true\nhpa:\n  enabled: true\n", "exclusive")]
    [InlineData("workloadIdentity:\n  enabled: true\n", "workloadIdentity.clientId is required")]
    public async Task Settings_that_cannot_work_fail_the_render_with_the_setting_to_fix(string values, string message)
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var render = await ChartRenderer.RenderAsync(Secrets + values);

        Assert.False(render.Succeeded);
        Assert.Contains(message, render.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_waits_longer_than_the_worker_takes_to_answer()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var probe = Deployment(await RenderedChart.RenderAsync(Secrets)).Spec.Template.Spec.Containers.Single().ReadinessProbe;

        Assert.True(probe.TimeoutSeconds > new ManagementOptions().ReadinessTimeout.TotalSeconds, $"readiness timeout {probe.TimeoutSeconds}s");
    }

    [Fact]
    public async Task A_rotated_api_key_rolls_the_pods_and_a_changed_setting_too()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var before = Deployment(await RenderedChart.RenderAsync(Secrets)).Spec.Template.Metadata.Annotations;
        var rotated = Deployment(await RenderedChart.RenderAsync(Secrets.Replace("sk-test", "sk-rotated", StringComparison.Ordinal))).Spec.Template.Metadata.Annotations;
        var reconfigured = Deployment(await RenderedChart.RenderAsync(Secrets + "config:\n  Queue:\n    MaxDequeueCount: 7\n")).Spec.Template.Metadata.Annotations;

        Assert.NotEqual(before["checksum/secret"], rotated["checksum/secret"]);
        Assert.Equal(before["checksum/config"], rotated["checksum/config"]);
        Assert.NotEqual(before["checksum/config"], reconfigured["checksum/config"]);
    }

    [Fact]
    public async Task The_backfill_Job_outlives_the_command_it_runs()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var documents = await RenderedChart.RenderAsync(Secrets + "backfill:\n  enabled: true\n  timeoutHours: 6\n  timeZone: Europe/Berlin\n");

        var cron = Assert.IsType<V1CronJob>(RenderedChart.Strict(documents.Single(d => d.Kind == "CronJob")));
        var args = cron.Spec.JobTemplate.Spec.Template.Spec.Containers.Single().Args;
        var timeout = TimeSpan.Parse(args[args.IndexOf("--timeout") + 1], CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(6), timeout);
        Assert.True(cron.Spec.JobTemplate.Spec.ActiveDeadlineSeconds > timeout.TotalSeconds, $"deadline {cron.Spec.JobTemplate.Spec.ActiveDeadlineSeconds}s");
        Assert.Equal("Europe/Berlin", cron.Spec.TimeZone);
        Assert.NotNull(cron.Spec.JobTemplate.Spec.TtlSecondsAfterFinished);
    }

    [Fact]
    public async Task Budgets_of_a_million_or_more_reach_the_worker_as_whole_numbers()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var documents = await RenderedChart.RenderAsync(Cases["budgets-of-millions"]);

        var env = Deployment(documents).Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("1200000", env["Embeddings__TokensPerMinute"]);
        Assert.Equal("1000000", env["Embeddings__RequestsPerMinute"]);
        Assert.Equal("2000000", env["Embeddings__ModelBudgets__0__TokensPerMinute"]);
        Assert.Equal("3000000", env["Embeddings__ModelBudgets__0__RequestsPerMinute"]);
    }

    [Fact]
    public async Task The_helm_test_runs_status_against_the_release()
    {
        await RenderedChart.SkipUnlessAvailableAsync();
        var documents = await RenderedChart.RenderAsync(Secrets);

        var test = Assert.IsType<V1Pod>(RenderedChart.Strict(documents.Single(d => d.Source.Contains("/templates/tests/", StringComparison.Ordinal))));
        Assert.Equal("test", test.Metadata.Annotations["helm.sh/hook"]);
        Assert.Contains("status", test.Spec.Containers.Single().Args);
    }

    private static V1Deployment Deployment(IReadOnlyList<RenderedDocument> documents) =>
        Assert.IsType<V1Deployment>(RenderedChart.Strict(documents.Single(d => d.Kind == "Deployment")));

    private static IEnumerable<V1PodSpec> PodSpecs(IReadOnlyList<RenderedDocument> documents)
    {
        foreach (var document in documents)
        {
            switch (document.Kind)
            {
                case "Deployment":
                    yield return ((V1Deployment)RenderedChart.Strict(document)).Spec.Template.Spec;
                    break;
                case "CronJob":
                    yield return ((V1CronJob)RenderedChart.Strict(document)).Spec.JobTemplate.Spec.Template.Spec;
                    break;
                case "Pod":
                    yield return ((V1Pod)RenderedChart.Strict(document)).Spec;
                    break;
            }
        }
    }

    [GeneratedRegex(@"(?<![\w.-])\d+(\.\d+)?e\+\d+")]
    private static partial Regex ScientificNumber();
}
