using System.Diagnostics;
using System.Globalization;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// Reads the worker's gauges from its <c>/metrics</c> every half second (or <paramref name="intervalMs"/>) while a run lasts; <see cref="Write"/> puts
/// them in a file beside the run's log (milliseconds from the same origin as the run's request file, gauge, value):
/// where the pipeline waited.
/// </summary>
internal sealed class WorkerSampler(int managementPort, int intervalMs = 500) : IAsyncDisposable
{
    private static readonly string[] Gauges = ["_in_flight", "_limit", "_stage_waiting"];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long At, string Gauge, string Value)> _samples = [];
    private Task _sampling = Task.CompletedTask;

    public void Start() => _sampling = SampleAsync(_stop.Token);

    /// <summary>Writes what was sampled, with times in milliseconds from <paramref name="origin"/> (a Stopwatch timestamp).</summary>
    public void Write(string path, long origin)
    {
        var lines = new List<string> { "ms,gauge,value" };
        lock (_samples)
        {
            lines.AddRange(_samples.Select(s =>
                $"{Stopwatch.GetElapsedTime(origin, s.At).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)},{s.Gauge},{s.Value}"));
        }
        File.WriteAllLines(path, lines);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                string text;
                try
                {
                    text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{managementPort}/metrics"), stop);
                }
                catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !stop.IsCancellationRequested))
                {
                    // Not listening yet, or too busy to answer within the client's timeout: skip this sample.
                    continue;
                }
                var at = Stopwatch.GetTimestamp();
                lock (_samples)
                {
                    foreach (var line in text.Split('\n'))
                    {
                        if (line.StartsWith("embedding_worker_", StringComparison.Ordinal) && Gauges.Any(g => line.Contains(g, StringComparison.Ordinal)))
                        {
                            var space = line.LastIndexOf(' ');
                            _samples.Add((at, line[..space].Replace(",", ";", StringComparison.Ordinal), line[(space + 1)..]));
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
