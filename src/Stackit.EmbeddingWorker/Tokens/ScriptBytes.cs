namespace Stackit.EmbeddingWorker.Tokens;

/// <summary>
/// The UTF-8 length of a text by the kind of character it holds, since tokenizers spend very different numbers of
/// tokens on each: <see cref="Ascii"/> (Latin letters, digits, punctuation: the densest), <see cref="Hangul"/>
/// (Korean syllables and jamo, which Latin-centred vocabularies hold few of: Mistral's spends half again as many tokens
/// a byte on Korean as on Chinese), <see cref="Letters"/> (every other character of the Basic Multilingual Plane:
/// accented Latin, Cyrillic, Greek, CJK, kana, …) and <see cref="Symbols"/> (symbols, arrows, dingbats and variation
/// selectors of U+2000–U+2BFF and U+FE00–U+FE0F, private use, and everything beyond the BMP: emoji above all), which
/// vocabularies rarely hold, so a tokenizer with byte fallback spends up to a token on each of their bytes.
/// </summary>
internal readonly record struct ScriptBytes(int Ascii, int Letters, int Symbols, int Hangul = 0)
{
    public static ScriptBytes operator +(ScriptBytes left, ScriptBytes right) =>
        new(left.Ascii + right.Ascii, left.Letters + right.Letters, left.Symbols + right.Symbols, left.Hangul + right.Hangul);

    public static ScriptBytes Of(ReadOnlySpan<char> text)
    {
        int ascii = 0, letters = 0, symbols = 0, hangul = 0;
        while (!text.IsEmpty)
        {
            var run = text.IndexOfAnyExceptInRange('\0', '\u007F');
            if (run < 0)
            {
                ascii += text.Length;
                break;
            }
            ascii += run;
            var i = run;
            for (; i < text.Length && text[i] > '\u007F'; i++)
            {
                var c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    symbols += 4;
                    i++;
                }
                else if (c is >= '\u2000' and <= '\u2BFF' or >= '\uFE00' and <= '\uFE0F' or >= '\uE000' and <= '\uF8FF')
                {
                    symbols += 3;
                }
                else if (c is >= '\uAC00' and <= '\uD7FF' or >= '\u1100' and <= '\u11FF' or >= '\u3130' and <= '\u318F' or >= '\uA960' and <= '\uA97F')
                {
                    hangul += 3;
                }
                else
                {
                    // A lone surrogate is written as U+FFFD, three bytes.
                    letters += c < '\u0800' ? 2 : 3;
                }
            }
            text = text[i..];
        }
        return new ScriptBytes(ascii, letters, symbols, hangul);
    }
}
