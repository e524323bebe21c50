using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// Real Qdrant: <c>QDRANT_ENDPOINT</c> (gRPC, e.g. http://localhost:6334) when set, else a
/// <c>qdrant/qdrant</c> container through Testcontainers when a Docker engine answers. Without either,
/// <see cref="SkipReason"/> says why and the tests using it are skipped, visibly.
/// </summary>
public sealed class RealQdrantFixture : IAsyncLifetime
{
    /// <summary>The pinned release (the chart's); <c>QDRANT_IMAGE</c> runs the same tests against another, e.g. the newest.</summary>
    public const string PinnedImage = "qdrant/qdrant:v1.16.3";

    public static string Image => Environment.GetEnvironmentVariable("QDRANT_IMAGE") is { Length: > 0 } image ? image : PinnedImage;

    private IContainer? _container;

    public Uri? Endpoint { get; private set; }

    public string SkipReason { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("QDRANT_ENDPOINT") is { Length: > 0 } given)
        {
            Endpoint = new Uri(given);
            return;
        }
        try
        {
            _container = new ContainerBuilder(Image)
                .WithPortBinding(6334, assignRandomHostPort: true)
                .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(6334))
                .Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await _container.StartAsync(timeout.Token);
            Endpoint = new Uri($"http://{_container.Hostname}:{_container.GetMappedPublicPort(6334)}");
        }
        catch (Exception ex)
        {
            var detail = ex.Message.Split('\n')[0];
            SkipReason = $"No real Qdrant here: QDRANT_ENDPOINT is not set and Testcontainers found no Docker engine ({ex.GetType().Name}: {detail})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
