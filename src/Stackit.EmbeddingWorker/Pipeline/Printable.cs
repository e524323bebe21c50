using System.Globalization;
using System.Text;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Strings from a message made safe to print in a log line or a terminal: control characters (newlines, ANSI
/// escapes), line and paragraph separators and bidirectional overrides are written as <c>\uXXXX</c>, so a message
/// can neither forge a second log line nor restyle an operator's terminal.
/// </summary>
internal static class Printable
{
    public static string Of(string value)
    {
        if (!value.Any(IsUnsafe))
        {
            return value;
        }
        var escaped = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            if (IsUnsafe(c))
            {
                escaped.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                escaped.Append(c);
            }
        }
        return escaped.ToString();
    }

    /// <summary>The first unsafe character of <paramref name="value"/> and where, or null.</summary>
    public static (char Character, int Index)? FirstUnsafe(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (IsUnsafe(value[i]))
            {
                return (value[i], i);
            }
        }
        return null;
    }

    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
}
