using System.Text.Json.Nodes;
using k8s;
using Stackit.EmbeddingWorker.Testing.ChartRendering;

namespace Stackit.EmbeddingWorker.Tests.Chart;

/// <summary>One rendered document: its source template, its text, and its content read as JSON.</summary>
internal sealed record RenderedDocument(string Source, string Yaml, JsonObject Content)
{
    public string Kind => (string)Content["kind"]!;

    public string ApiVersion => (string)Content["apiVersion"]!;

    public JsonNode? At(string path)
    {
        JsonNode? node = Content;
        foreach (var part in path.Split('.'))
        {
            node = int.TryParse(part, out var index) ? node?.AsArray()[index] : node?[part];
        }
        return node;
    }
}

/// <summary>
/// A chart rendered with <see cref="ChartRenderer"/>, split into documents and checked as a cluster would take them:
/// every document of a built-in kind is read strictly into the Kubernetes client's models (KubernetesClient, the
/// Kubernetes project's C# client, generated from the API's OpenAPI schemas), so an unknown field, a misplaced
/// mapping or a value of the wrong type fails the test.
/// </summary>
internal static class RenderedChart
{
    /// <summary>The kinds of custom resources the chart may render, checked by the tests' own assertions (no schema ships for them offline).</summary>
    public static readonly HashSet<string> CustomKinds = ["keda.sh/v1alpha1/ScaledObject", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule"];

    public static async Task<IReadOnlyList<RenderedDocument>> RenderAsync(string valuesYaml)
    {
        var render = await ChartRenderer.RenderAsync(valuesYaml);
        Assert.True(render.Succeeded, "helm template failed: " + render.Error);
        return Split(render.Manifests);
    }

    /// <summary>Skips the calling test, with the reason, where the renderer cannot be installed.</summary>
    public static async Task SkipUnlessAvailableAsync()
    {
        var reason = await ChartRenderer.Unavailable();
        Assert.SkipWhen(reason is not null, "The chart renderer " + reason);
    }

    public static IReadOnlyList<RenderedDocument> Split(string manifests)
    {
        var documents = new List<RenderedDocument>();
        foreach (var part in manifests.Split("\n---\n").Select(p => p.TrimStart('-', '\n')))
        {
            var source = part.Split('\n')[0].Replace("# Source: ", "", StringComparison.Ordinal);
            var content = YamlToJson.Read(part);
            if (content is null)
            {
                continue;
            }
            documents.Add(new RenderedDocument(source, part, content.AsObject()));
        }
        return documents;
    }

    /// <summary>Reads a document of a built-in kind into the Kubernetes client's model, refusing unknown fields.</summary>
    public static object Strict(RenderedDocument document) =>
        KubernetesYaml.LoadAllFromString(document.Yaml, strict: true).Single();
}
