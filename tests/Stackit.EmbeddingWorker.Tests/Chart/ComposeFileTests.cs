using System.Reflection;
using System.Text.Json.Nodes;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Chart;

/// <summary>
/// docker-compose.yml cannot be run here (no Docker engine; the hosted CI checks it with <c>docker compose config</c>):
/// what can be checked is that its workers set only settings the worker reads and run in the profiles the README names.
/// </summary>
public sealed class ComposeFileTests
{
    private static JsonObject Services() =>
        YamlToJson.Read(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docker-compose.yml")))!["services"]!.AsObject();

    [Fact]
    public void Every_worker_setting_in_the_compose_file_is_one_the_worker_reads()
    {
        var settings = Services()
            .Where(s => s.Value!["build"] is not null)
            .SelectMany(s => s.Value!["environment"]!.AsObject().Select(e => (Service: s.Key, Key: e.Key)))
            .ToList();

        Assert.NotEmpty(settings);
        Assert.All(settings, s =>
        {
            var parts = s.Key.Split("__");
            Assert.True(HelmChartTests.OptionsBySection.TryGetValue(parts[0], out var options), $"{s.Service}: {s.Key} names no section the worker reads");
            Assert.NotNull(options.GetProperty(parts[1], BindingFlags.Public | BindingFlags.Instance));
        });
    }

    [Fact]
    public void The_trial_runs_its_own_model_server_and_the_stackit_worker_only_on_request()
    {
        var services = Services();

        Assert.Equal("stackit", (string)services["worker"]!["profiles"]![0]!);
        Assert.Equal("local", (string)services["worker-local"]!["profiles"]![0]!);
        Assert.Equal("local", (string)services["embeddings"]!["profiles"]![0]!);
        Assert.Equal("http://embeddings:80/v1", (string)services["worker-local"]!["environment"]!["Embeddings__BaseUrl"]!);
        Assert.Null(services["azurite"]!["profiles"]);
        Assert.Null(services["qdrant"]!["profiles"]);
    }
}
