using System.Text;
using System.Text.Json;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>The documents of one benchmark run: short texts, a realistic mix, or long documents that need chunking.</summary>
internal sealed record Workload(string Name, Func<Random, int> TextBytes)
{
    private static readonly string[] Words =
    [
        "Pumpe", "Wartung", "valve", "pressure", "Sensor", "Leitung", "maintenance", "interval", "Druck", "Ventil",
        "the", "der", "und", "and", "of", "check", "prüfen", "monthly", "monatlich", "replace", "ersetzen", "seal",
        "Dichtung", "temperature", "Temperatur", "operator", "Betreiber", "manual", "Handbuch", "safety", "Sicherheit",
        "documented", "dokumentiert", "according", "gemäß", "standard", "Norm", "flow", "Durchfluss", "motor",
    ];

    /// <summary>About 50 tokens each.</summary>
    public static Workload Short { get; } = new("short", r => r.Next(170, 230));

    /// <summary>70% short notes, 25% pages, 5% long documents.</summary>
    public static Workload Mixed { get; } = new("mixed", r => r.NextDouble() switch
    {
        < 0.70 => r.Next(100, 800),
        < 0.95 => r.Next(2_000, 8_000),
        _ => r.Next(20_000, 48_000),
    });

    /// <summary>3,000 to 12,000 tokens each: every one is chunked.</summary>
    public static Workload Long { get; } = new("long", r => r.Next(12_000, 48_000));

    public string Job(Random random, int number)
    {
        var text = Text(random, TextBytes(random));
        return JsonSerializer.Serialize(new { id = $"{Name}-{number}", text, metadata = new { workload = Name } });
    }

    /// <summary>Sentences of random words, paragraphs every few sentences, about <paramref name="bytes"/> long.</summary>
    private static string Text(Random random, int bytes)
    {
        var text = new StringBuilder(bytes + 32);
        var sentence = 0;
        while (text.Length < bytes)
        {
            var words = random.Next(6, 18);
            for (var i = 0; i < words; i++)
            {
                text.Append(Words[random.Next(Words.Length)]).Append(i == words - 1 ? ". " : " ");
            }
            if (++sentence % 5 == 0)
            {
                text.Append("\n\n");
            }
        }
        return text.ToString().Trim();
    }
}
