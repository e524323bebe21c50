namespace Stackit.EmbeddingWorker.Tests.Preparation;

/// <summary>
/// Maintenance-manual sentences in the scripts the worker must estimate well (written for these tests), and documents
/// made of them: paragraphs of random sentences, in one language each, from a seed.
/// </summary>
internal static class ScriptCorpus
{
    public static readonly IReadOnlyDictionary<string, string[]> Sentences = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["en"] =
        [
            "Replace the impeller of the pump after 8000 operating hours.",
            "Check the oil level every month and top it up with the grade named on the type plate.",
            "Never open the valve while the line is under pressure.",
            "The controller logs every fault with its time, code and the sensor that reported it.",
            "Tighten the flange bolts crosswise to 45 Nm, then check for leaks at the rated pressure.",
            "If the motor overheats, the thermal switch stops it until the winding has cooled down.",
            "Spare parts are listed by their article number in the appendix of this manual.",
            "Before any work on the electrical cabinet, switch off the main breaker and secure it against restarting.",
            "The filter cartridge must be changed when the differential pressure exceeds 0.8 bar.",
            "Record each inspection in the maintenance log with the date, the findings and your initials.",
        ],
        ["de"] =
        [
            "Ersetzen Sie das Laufrad der Pumpe nach 8000 Betriebsstunden.",
            "Prüfen Sie monatlich den Ölstand und füllen Sie mit der auf dem Typenschild genannten Sorte nach.",
            "Öffnen Sie das Ventil niemals, solange die Leitung unter Druck steht.",
            "Die Steuerung protokolliert jede Störung mit Uhrzeit, Fehlercode und dem meldenden Sensor.",
            "Ziehen Sie die Flanschschrauben über Kreuz mit 45 Nm an und prüfen Sie anschließend die Dichtheit beim Nenndruck.",
            "Überhitzt der Motor, schaltet ihn der Thermoschalter ab, bis die Wicklung abgekühlt ist.",
            "Ersatzteile sind mit ihrer Artikelnummer im Anhang dieser Betriebsanleitung aufgeführt.",
            "Schalten Sie vor Arbeiten am Schaltschrank den Hauptschalter aus und sichern Sie ihn gegen Wiedereinschalten.",
            "Die Filterpatrone muss gewechselt werden, wenn der Differenzdruck 0,8 bar übersteigt.",
            "Tragen Sie jede Inspektion mit Datum, Befund und Kürzel in das Wartungsbuch ein.",
        ],
        ["fr"] =
        [
            "Remplacez la roue de la pompe après 8000 heures de fonctionnement.",
            "Vérifiez chaque mois le niveau d'huile et complétez avec la qualité indiquée sur la plaque signalétique.",
            "N'ouvrez jamais la vanne tant que la conduite est sous pression.",
            "L'automate enregistre chaque défaut avec l'heure, le code et le capteur qui l'a signalé.",
            "Serrez les boulons de la bride en croix à 45 Nm, puis contrôlez l'étanchéité à la pression nominale.",
            "Si le moteur surchauffe, le thermostat l'arrête jusqu'à ce que le bobinage ait refroidi.",
            "Les pièces de rechange sont répertoriées par leur référence dans l'annexe de ce manuel.",
            "Avant toute intervention sur l'armoire électrique, coupez l'interrupteur principal et verrouillez-le.",
            "La cartouche filtrante doit être changée lorsque la pression différentielle dépasse 0,8 bar.",
            "Consignez chaque inspection dans le carnet d'entretien avec la date, les constats et vos initiales.",
        ],
        ["zh"] =
        [
            "泵的叶轮应在运行八千小时后更换。",
            "每月检查油位，并按铭牌上标明的牌号补充润滑油。",
            "管路带压时，严禁打开阀门。",
            "控制器会记录每一次故障的时间、代码以及报告故障的传感器。",
            "按对角顺序将法兰螺栓拧紧至四十五牛米，然后在额定压力下检查是否泄漏。",
            "电机过热时，温控开关会使其停机，直到绕组冷却为止。",
            "备件按物料编号列在本手册的附录中。",
            "在电气柜上进行任何作业之前，请断开主开关并防止其被重新接通。",
            "当压差超过零点八巴时，必须更换滤芯。",
            "请在维护记录中登记每次检查的日期、发现的问题和检查人签名。",
        ],
        ["ja"] =
        [
            "ポンプのインペラは運転八千時間後に交換してください。",
            "毎月オイルレベルを点検し、銘板に記載された銘柄のオイルを補給してください。",
            "配管に圧力がかかっている間は、絶対にバルブを開けないでください。",
            "制御装置は、すべての故障を時刻、コード、報告したセンサーとともに記録します。",
            "フランジボルトを対角線の順に四十五ニュートンメートルで締め付け、定格圧力で漏れを確認してください。",
            "モーターが過熱すると、巻線が冷えるまでサーマルスイッチが停止させます。",
            "交換部品は、本マニュアルの付録に品番順に記載されています。",
            "電気盤で作業する前に、主ブレーカーを切り、再投入されないように施錠してください。",
            "差圧が〇・八バールを超えたら、フィルターカートリッジを交換する必要があります。",
            "点検のたびに、日付、所見、担当者のイニシャルを保守記録に記入してください。",
        ],
        ["ko"] =
        [
            "펌프의 임펠러는 운전 팔천 시간 후에 교체하십시오.",
            "매월 오일 레벨을 점검하고 명판에 표시된 등급의 오일로 보충하십시오.",
            "배관에 압력이 걸려 있는 동안에는 절대로 밸브를 열지 마십시오.",
            "제어기는 모든 고장을 시간, 코드, 그리고 고장을 보고한 센서와 함께 기록합니다.",
            "플랜지 볼트를 대각선 순서로 사십오 뉴턴미터로 조인 다음 정격 압력에서 누설 여부를 확인하십시오.",
            "모터가 과열되면 권선이 식을 때까지 열 스위치가 모터를 정지시킵니다.",
            "예비 부품은 이 설명서의 부록에 품번별로 나열되어 있습니다.",
            "전기 캐비닛에서 작업하기 전에 주 차단기를 끄고 재투입되지 않도록 잠그십시오.",
            "차압이 영점팔 바를 넘으면 필터 카트리지를 교체해야 합니다.",
            "점검할 때마다 날짜, 발견 사항, 담당자 이니셜을 정비 일지에 기록하십시오.",
        ],
        ["emoji"] =
        [
            "✅ Pump P1 checked 🔧 oil level ok 🛢️ next check 📅 in 30 days.",
            "⚠️ Valve V7 leaking 💧💧 — ticket opened 🎫 by 👷‍♀️ Anna.",
            "🔥 Motor M3 too hot 🌡️ 95 °C → stopped ⛔ until it cools ❄️.",
            "📦 Spare impeller arrived 🚚 and is stored in rack B 🗄️ 👍🏽.",
            "🧰 Flange bolts tightened 🔩🔩🔩🔩 crosswise to 45 Nm ✔️.",
            "📈 Pressure rising 📊 1.2 → 1.9 bar ⏱️ within 10 min 😬.",
            "🙂 Filter changed 🧽 Δp back to 0.2 bar 🎉🎉.",
            "🚨 Alarm A12 acknowledged 👀 by the night shift 🌙 at 02:40.",
            "🔌 Cabinet E2 locked out 🔒 tag 🏷️ attached 👌.",
            "📝 Inspection logged ✍️ date, findings, initials 🆗.",
        ],
    };

    /// <summary>A document in <paramref name="language"/>: paragraphs of two to six random sentences, about <paramref name="characters"/> long.</summary>
    public static string Document(string language, int characters, Random random)
    {
        var sentences = Sentences[language];
        var separator = language is "zh" or "ja" ? "" : " ";
        var text = new System.Text.StringBuilder();
        while (text.Length < characters)
        {
            if (text.Length > 0)
            {
                text.Append("\n\n");
            }
            var count = random.Next(2, 7);
            text.Append(string.Join(separator, Enumerable.Range(0, count).Select(_ => sentences[random.Next(sentences.Length)])));
        }
        return text.ToString();
    }
}
