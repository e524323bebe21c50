using System.Diagnostics;
using System.Globalization;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// Reads the worker's gauges from its <c>/metrics</c> every half second while a run lasts and writes them to a
/// file beside the run's log (milliseconds from <paramref name="origin"/>, gauge, value): where the pipeline waited.
/// </summary>
internal sealed class WorkerSampler(int managementPort, string path) : IAsyncDisposable
{
    private static readonly string[] Gauges = ["_in_flight", "_limit", "_stage_waiting"];
    private readonly CancellationTokenSource _stop = new();
    private Task _sampling = Task.CompletedTask;

    public void Start(Func<long> origin) => _sampling = SampleAsync(origin, _stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync(Func<long> origin, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await using var output = new StreamWriter(path);
        await output.WriteLineAsync("ms,gauge,value");
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                string text;
                try
                {
                    text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{managementPort}/metrics"), stop);
                }
                catch (HttpRequestException)
                {
                    continue;
                }
                var ms = Stopwatch.GetElapsedTime(origin(), Stopwatch.GetTimestamp()).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);
                foreach (var line in text.Split('\n'))
                {
                    if (line.StartsWith("embedding_worker_", StringComparison.Ordinal) && Gauges.Any(g => line.Contains(g, StringComparison.Ordinal)))
                    {
                        var space = line.LastIndexOf(' ');
                        await output.WriteLineAsync($"{ms},{line[..space].Replace(",", ";", StringComparison.Ordinal)},{line[(space + 1)..]}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
