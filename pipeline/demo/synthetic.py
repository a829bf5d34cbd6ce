"""Seeded generator of synthetic Chinese discharge records (EMRs) for the demo database.

Every sentence here is the project's own wording; no text of the competition records is used.
Labels come from the task's label space, and each record's text is built from its labels so that
diagnoses, history, vital signs, laboratory values, examinations and drugs agree with the codes.

The cases (labels, age, durations, vital signs and laboratory values) are drawn by :mod:`pipeline.demo.cases`;
this module writes their sections. Its phrase tables (diagnosis wordings, alternative phrasings, per-diagnosis
text and section templates) are data, in ``phrases.json`` beside it; a fixed fragment that belongs to one
condition stays next to that condition here. Templates are filled with :meth:`str.format`: ``{long}``,
``{sbp}`` and the other keys of a case's measurements, plus the fields a call names.

The output is pinned per seed, so the order and number of random draws are part of the contract: the fields
of a set of alternative templates are drawn before one of them is chosen, even those the chosen one ignores.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from typing import Any

from pipeline.demo.cases import (
    AF,
    BEATS,
    DM,
    HF,
    HT3,
    HT_GRADES,
    KILLIP,
    MVA,
    NSTEMI,
    NYHA,
    PRINCIPALS,
    UA,
    Case,
    duration,
    new_case,
)
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS

_PHRASES: dict[str, Any] = json.loads(files("pipeline.demo").joinpath("phrases.json").read_text(encoding="utf-8"))

# Diagnosis wordings, as doctors write them in 入院诊断, for every code of the label space.
_DX: dict[str, list[str]] = _PHRASES["dx"]

_VESSELS = ("前降支", "回旋支", "右冠状动脉")


def _years(rng: random.Random, c: Case, lo: int, hi: int) -> str:
    """A history duration in years that the patient's age allows."""
    return duration(rng, lo, max(lo, min(hi, c.age - 30)), "年")


# ---------------------------------------------------------------- sections


def _complaint(rng: random.Random, c: Case) -> str:
    return rng.choice(_PHRASES["complaint"][c.main]).format_map(c.v)


def _negatives(rng: random.Random, c: Case) -> str:
    clash = {
        "fever_cough": c.has("J18.900", "J98.414"),
        "limb_weakness": c.has("I63.900"),
        "vertigo": False,
        "nausea": c.main == NSTEMI,
    }
    pool = [s for key, s in _PHRASES["negatives"].items() if not clash.get(key, False)]
    return "，".join(rng.sample(pool, rng.randint(2, 4)))


def _fill(rng: random.Random, templates: list[str], **fields: object) -> str:
    """One of the templates, filled in; the caller draws every field first, before the choice."""
    return rng.choice(templates).format(**fields)


def _present_illness(rng: random.Random, c: Case) -> str:
    m, v = c.main, c.v
    options = _PHRASES["present_illness"][m]
    who = rng.choice(_PHRASES["who"])  # records never name the patient
    if m == HT3:
        body = _fill(rng, options, who=who, months=rng.randint(1, 3), **v)
        body += "，无胸痛，无肢体麻木及言语不清"
    elif m == UA:
        body = _fill(rng, options, who=who, minutes=rng.randint(10, 25), **v)
    elif m == MVA:
        body = _fill(rng, options, who=who, minutes=rng.randint(5, 20), **v)
    elif m == NSTEMI:
        body = _fill(rng, options, who=who, **v)
        body += f"。急诊查肌钙蛋白I {v['tni']}ng/mL，心电图未见ST段抬高"
        if c.has("I50.907", "I50.900x015", "I50.900x016"):
            body += "，伴呼吸困难、不能平卧，咳粉红色泡沫痰"
    else:
        exertion = _PHRASES["hf_exertion"][c.first(NYHA) or "none"]
        body = _fill(rng, options, who=who, exertion=exertion, **v)
        body += f"。门诊查BNP {v['bnp']}pg/mL"
        if c.has("I20.000"):
            body += "；近期另有静息状态下胸骨后疼痛发作，持续十余分钟"
    if c.has("J18.900", "J98.414"):
        body += f"；病程中伴咳嗽、咳黄痰，最高体温{v['t']}℃"
    if c.has("R42.x00x004") and m != HT3:
        body += "；伴间断头晕，无视物旋转"
    if c.has("I63.900"):
        body += f"；入院前1天出现{rng.choice(('左', '右'))}侧肢体麻木、乏力"
    if v["af_now"] or c.has("I49.900", *BEATS):
        body += "；自觉心悸不适"
    body += f"，{_negatives(rng, c)}。"
    # Each wording draws its own diagnosis name before one is chosen.
    tail = rng.choice([t.format(dx=_pick_dx(rng, m)) for t in _PHRASES["admitted_via_clinic"]])
    tail += rng.choice(_PHRASES["general_condition"])
    return body + tail


def _pick_dx(rng: random.Random, code: str) -> str:
    return rng.choice(_DX[code])


def _past_history(rng: random.Random, c: Case) -> str:
    v, parts = c.v, []
    ht = c.first(HT_GRADES)
    if ht:
        drug = rng.choice(("苯磺酸氨氯地平片", "缬沙坦胶囊", "硝苯地平控释片", "厄贝沙坦片", "培哚普利片"))
        years = c.v["long"] if c.main == HT3 else _years(rng, c, 2, 25)
        parts.append(
            f"“高血压病”史{years}，最高血压{v['max_sbp']}/{v['max_dbp']}mmHg，"
            f"平素口服“{drug}”，血压控制{rng.choice(('欠佳', '不详', '一般'))}"
        )
    if c.has(*DM):
        parts.append(f"“糖尿病”史{_years(rng, c, 1, 15)}，口服“二甲双胍”，空腹血糖控制在{rng.randint(7, 9)}mmol/L左右")
    if c.has("E78.500"):
        parts.append(f"发现血脂升高{_years(rng, c, 1, 6)}，间断服用他汀类药物")
    if c.has("I25.200"):
        parts.append(f"{_years(rng, c, 2, 10)}前患“急性心肌梗死”，经治疗好转")
    if c.has("Z95.501"):
        parts.append(
            f"{_years(rng, c, 1, 8)}前因冠心病行冠状动脉支架植入术，"
            f"植入支架{rng.randint(1, 3)}枚，术后规律服用抗血小板药物"
        )
    if c.has("I25.103") and c.main in (HF, HT3):
        parts.append(f"“冠心病”史{_years(rng, c, 2, 12)}")
    if c.has(HF) and c.main != HF:
        parts.append(f"“慢性心功能不全”史{_years(rng, c, 1, 8)}，近期活动耐量明显下降")
    if c.has(*AF):
        parts.append(f"发现“心房颤动”{_years(rng, c, 1, 6)}，{rng.choice(('未规律抗凝', '服用利伐沙班抗凝'))}")
    if c.has("I69.300x002"):
        parts.append(f"{_years(rng, c, 2, 10)}前患“脑梗死”，遗留{rng.choice(('左侧', '右侧'))}肢体轻度乏力")
    if c.has("N19.x00x002"):
        parts.append(f"发现肌酐升高{_years(rng, c, 1, 5)}")
    if c.has("Z98.800x612"):
        parts.append(f"{_years(rng, c, 3, 20)}前行乳腺手术，术后恢复可")
    if c.has("E04.101", "E04.102") and rng.random() < 0.5:
        parts.append("体检发现甲状腺占位，未治疗")
    negatable = [
        ("高血压", bool(ht)),
        ("糖尿病", c.has(*DM)),
        ("冠心病", c.has("I25.103", "I25.200", "Z95.501")),
        ("脑梗死", c.has("I63.900", "I69.300x002")),
        ("慢性肾病", c.has("N19.x00x002")),
    ]
    neg = [name for name, present in negatable if not present]
    lead = rng.choice(("既往", "平素健康状况一般，", "既往体质一般，"))
    text = lead + ("；".join(parts) + "。" if parts else "体健。")
    if neg:
        text += f"否认{'、'.join(rng.sample(neg, min(len(neg), rng.randint(2, 3))))}病史。"
    text += rng.choice(_PHRASES["other_history_denied"])
    return text


def _personal(rng: random.Random, c: Case) -> str:
    s = rng.choice(("生于本地，久居当地", "出生并长期居住于原籍", "生长于本市"))
    s += "，否认疫区、疫水接触史，否认工业毒物、粉尘及放射性物质接触史。"
    if c.sex == "男" and rng.random() < 0.55:
        quit_ = rng.choice(("未戒", f"已戒烟{rng.randint(1, 5)}年"))
        s += f"吸烟史{rng.randint(10, 40)}年，平均每日{rng.choice((10, 15, 20, 30))}支，{quit_}。"
    else:
        s += "否认吸烟史。"
    if c.sex == "男" and rng.random() < 0.35:
        s += f"饮酒{rng.randint(5, 30)}年，每日约白酒{rng.choice((1, 2, 3))}两。"
    else:
        s += rng.choice(("偶有少量饮酒。", "否认饮酒史。"))
    return s


def _marital(rng: random.Random, c: Case) -> str:
    sons, daughters = rng.randint(0, 2), rng.randint(0, 2)
    s = f"{rng.randint(21, 30)}岁结婚，"
    if sons + daughters:
        s += "育有" + (f"{sons}子" if sons else "") + (f"{daughters}女" if daughters else "") + "，"
        s += rng.choice(("配偶及子女体健。", "配偶体健，子女均健康。", "配偶已故，子女体健。"))
    else:
        s += "未育，配偶体健。"
    if c.sex == "女":
        if c.age >= 52:
            s += f"月经史：{rng.randint(12, 16)}岁初潮，{rng.randint(47, 53)}岁绝经，绝经后无异常阴道出血。"
        else:
            s += f"月经规律，周期{rng.randint(26, 32)}天，经期{rng.randint(4, 7)}天。"
    return s


def _family(rng: random.Random, c: Case) -> str:
    rel = rng.choice(("父亲", "母亲", "一兄", "一姐"))
    dis = rng.choice(("高血压病", "冠心病", "糖尿病", "脑梗死"))
    return rng.choice(_PHRASES["family"]).format(relative=rel, disease=dis)


def _exam(rng: random.Random, c: Case) -> str:
    v = c.v
    s = (
        f"T {v['t']}℃，P {v['hr']}次/分，R {v['rr']}次/分，BP {v['sbp']}/{v['dbp']}mmHg。"
        f"神志清，{rng.choice(('精神可', '精神稍差', '急性病容'))}。"
    )
    wet = c.main == HF or c.has("I50.907", "I50.900x015", "I50.900x016")
    if wet:
        s += rng.choice(("颈静脉充盈，", "半卧位，口唇轻度发绀，"))
        s += f"双肺{rng.choice(('底', '中下野'))}可闻及湿性啰音，未吸氧下血氧饱和度{v['spo2']}%。"
    elif c.has("J18.900", "J98.414"):
        s += f"{rng.choice(('右', '左'))}下肺可闻及少许湿啰音。"
    else:
        s += "双肺呼吸音清，未闻及干、湿性啰音。"
    if v["af_now"]:
        apex = v["hr"] + rng.randint(4, 14)  # pulse deficit: the apex counts more beats than the pulse
        s += f"心界{rng.choice(('向左下扩大', '不大'))}，心率{apex}次/分，心律绝对不齐，第一心音强弱不等。"
    else:
        s += f"心界不大，心率{v['hr']}次/分，律{'不齐，可闻及早搏' if c.has(*BEATS) else '齐'}。"
    s += "心尖区可闻及3/6级收缩期吹风样杂音。" if c.has("I38.x01") else "各瓣膜听诊区未闻及病理性杂音。"
    s += "腹软，无压痛，肝脾肋下未触及。"
    if c.main == HF:
        s += f"双下肢{rng.choice(('中度', '重度', '轻度'))}凹陷性水肿。"
    elif c.has("I50.900x016"):
        s += "四肢湿冷，双下肢无水肿。"
    else:
        s += "双下肢无水肿。"
    return s


def _admission(rng: random.Random, c: Case, complaint: str) -> str:
    v = c.v
    s = rng.choice(_PHRASES["admission_opening"]).format(sex=c.sex, age=c.age, complaint=complaint)
    s += "查体：" + _exam(rng, c)
    aux = [f"{rng.choice(('心电图', '急诊心电图', '床旁心电图'))}示{_ecg(rng, c)}"]
    if c.main == NSTEMI:
        aux.append(f"肌钙蛋白I {v['tni']}ng/mL（参考值<0.034），CK-MB {v['ckmb']}U/L")
    else:
        aux.append(f"肌钙蛋白I {v['tni']}ng/mL")
    if c.main == HF or v["bnp"] > 100 or rng.random() < 0.4:
        aux.append(f"BNP {v['bnp']}pg/mL")
    aux.append(f"血钾 {v['k']}mmol/L")
    return s + "辅助检查：" + "；".join(aux) + "。"


def _ecg(rng: random.Random, c: Case) -> str:
    rhythm = "心房颤动" if c.v["af_now"] else rng.choice(("窦性心律", "窦性心律"))
    if c.main == NSTEMI:
        leads = rng.choice(("V4-V6", "II、III、aVF", "I、aVL、V5、V6"))
        depth = rng.choice(("0.1", "0.15", "0.2", "0.3"))
        st = f"{leads}导联ST段{rng.choice(('压低', '水平型下移'))}{depth}mV伴T波倒置，未见ST段抬高"
    elif c.main == UA:
        st = f"胸痛发作时{rng.choice(('V1-V4', 'V3-V6', 'II、III、aVF'))}导联ST段压低，T波低平，症状缓解后部分恢复"
    else:
        st = rng.choice(_PHRASES["ecg_st"][c.main])
    if c.has("I25.200"):
        st += f"，{rng.choice(('II、III、aVF', 'V1-V3'))}导联可见病理性Q波"
    return f"{rhythm}，{st}"


def _cag(rng: random.Random, c: Case) -> str:
    """Coronary angiography (or CTA) findings consistent with the principal, '' when none done."""
    if c.main == MVA:
        s = "冠脉造影：左主干、前降支、回旋支及右冠状动脉未见明显狭窄，TIMI血流3级"
        if c.has("I25.102"):
            s = (
                f"冠脉造影：{rng.choice(_VESSELS)}近段可见斑块，管腔狭窄约{rng.choice((20, 30))}%，"
                "余血管未见明显狭窄，TIMI血流3级"
            )
        if c.has("Q24.501"):
            s += f"；前降支中段可见心肌桥，收缩期压缩约{rng.choice((30, 40, 50))}%"
        return s + "。结论：冠状动脉未见有意义狭窄"
    if c.main in (UA, NSTEMI):
        culprit = rng.choice(_VESSELS)
        rest = [x for x in _VESSELS if x != culprit]
        sten = rng.choice((99, 95, 90, "次全闭塞")) if c.main == NSTEMI else rng.choice((75, 80, 85, 90))
        sten_s = sten if isinstance(sten, str) else f"狭窄约{sten}%"
        s = (
            f"冠脉造影：{culprit}{rng.choice(('近段', '中段', '近中段'))}{sten_s}，"
            f"{rest[0]}弥漫斑块、狭窄约{rng.choice((30, 40, 50))}%，{rest[1]}未见明显狭窄"
        )
        if c.has("Z95.501"):
            s += "，原支架内通畅"
        if c.main == NSTEMI or rng.random() < 0.7:
            s += f"。于{culprit}病变处植入药物洗脱支架{rng.randint(1, 2)}枚，术后TIMI血流3级"
        else:
            s += "。病变介于临界，建议强化药物治疗，择期评估"
        return s
    if c.has("I25.103"):
        return f"冠脉CTA：{rng.choice(_VESSELS)}中段混合斑块，管腔中度狭窄"
    if c.has("I25.102"):
        return "冠脉CTA：冠状动脉粥样硬化，管腔轻度狭窄"
    return ""


def _workup(rng: random.Random, c: Case) -> str:
    v = c.v
    labs = [t.format_map(v) for t in _PHRASES["routine_labs"]]
    if c.main == NSTEMI:
        labs.append(f"肌钙蛋白I峰值{round(v['tni'] * rng.uniform(1.2, 3.0), 2)}ng/mL")
    if c.main == HF:
        labs.append(f"BNP {v['bnp']}pg/mL")
    if c.has("E72.101") or rng.random() < 0.3:
        labs.append(f"同型半胱氨酸{v['hcy']}μmol/L")
    exams = []
    echo = f"心脏超声：LVEF {v['lvef']}%"
    if c.main == HF:
        echo += f"，左心{rng.choice(('扩大', '明显扩大'))}，室壁运动弥漫性减弱"
    elif c.main == HT3:
        echo += f"，室间隔厚度{rng.choice((11, 12, 13))}mm，左室舒张功能减低"
    elif c.main == NSTEMI:
        echo += "，节段性室壁运动异常"
    if c.has("I38.x01"):
        echo += "，二尖瓣中度反流"
    if c.has("I31.800x004"):
        echo += f"，心包腔内可见少量积液（最深约{rng.randint(4, 9)}mm）"
    exams.append(echo)
    if c.has(*BEATS, "I49.900", "I48.x02"):
        holter = []
        if c.has("I48.x02"):
            holter.append("阵发性心房颤动")
        beat = c.first(BEATS)
        if beat:
            holter.append(
                {
                    "I49.100x001": f"房性早搏{rng.randint(80, 900)}次",
                    "I49.100x002": f"频发房性早搏{rng.randint(2000, 9000)}次",
                    "I49.300x001": f"频发室性早搏{rng.randint(2000, 12000)}次",
                    "I49.300x002": f"室性早搏{rng.randint(60, 800)}次",
                    "I49.400x002": "偶发房性早搏及室性早搏",
                    "I49.400x003": f"频发房性及室性早搏，共{rng.randint(3000, 9000)}次",
                }[beat]
            )
        if not holter:
            holter.append(rng.choice(("短阵房性心动过速", "一度房室传导阻滞", "窦性心动过缓伴不齐")))
        exams.append("动态心电图：" + "，".join(holter))
    if c.has("I70.806"):
        exams.append("颈动脉超声：双侧颈动脉内中膜增厚伴多发斑块形成")
    if c.has("I70.203"):
        exams.append("下肢动脉超声：双下肢动脉粥样硬化伴斑块形成")
    head = []
    if c.has("I63.900"):
        head.append(f"{rng.choice(('左侧', '右侧'))}基底节区新发腔隙性梗死灶")
    if c.has("I69.300x002"):
        head.append("陈旧性梗死灶")
    if c.has("I67.200x011"):
        head.append("脑动脉粥样硬化改变")
    if head:
        exams.append(f"头颅{rng.choice(('MRI', 'CT'))}：" + "，".join(head))
    chest = []
    if c.has("J18.900", "J98.414"):
        chest.append(f"{rng.choice(('右', '左', '双'))}肺下叶斑片状渗出影，考虑炎症")
    if c.has("R91.x00x003"):
        chest.append(
            f"{rng.choice(('右肺上叶', '左肺下叶', '双肺'))}实性小结节（最大约{rng.randint(3, 7)}mm），建议随访"
        )
    if c.main == HF or c.has("I50.907"):
        chest.append("双侧少量胸腔积液，肺淤血表现")
    if chest:
        exams.append("胸部CT：" + "，".join(chest))
    abd = []
    if c.has("K76.000"):
        abd.append("脂肪肝")
    if c.has("K76.807"):
        abd.append(f"肝内囊性占位（约{rng.randint(8, 25)}mm），考虑肝囊肿")
    if c.has("N28.101"):
        abd.append(f"{rng.choice(('左', '右'))}肾囊肿")
    if abd:
        exams.append("腹部超声：" + "，".join(abd))
    if c.has("E04.101"):
        exams.append(f"甲状腺超声：甲状腺{rng.choice(('左叶', '右叶', '双叶'))}结节，TI-RADS 3类")
    if c.has("E04.102"):
        exams.append("甲状腺超声：甲状腺囊性结节，考虑囊肿")
    if c.main == HT3:
        exams.append("肾动脉超声未见狭窄，肾素、醛固酮及皮质醇检测未见明显异常")
    if c.main == MVA:
        exams.append(rng.choice(_PHRASES["mva_function_test"]))
    cag = _cag(rng, c)
    if cag:
        exams.append(cag)
    return "；".join(labs) + "。" + "；".join(exams) + "。"


def _treatment(rng: random.Random, c: Case) -> str:
    t = _PHRASES["treatment"][c.main]
    adds = []
    if c.has("I50.907") or c.has("I50.900x015", "I50.900x016"):
        adds.append("吸氧、静脉利尿减轻心脏负荷")
    if c.has("I50.900x016"):
        adds.append("多巴胺维持血压")
    if c.has(*AF):
        adds.append("控制心室率并抗凝治疗")
    if c.has("J18.900", "J98.414"):
        adds.append(f"{rng.choice(('头孢曲松', '哌拉西林他唑巴坦', '左氧氟沙星'))}抗感染")
    if c.has("E87.600"):
        adds.append("口服及静脉补钾")
    if c.has(*DM):
        adds.append("控制血糖")
    if adds:
        t += "；并予" + "、".join(adds)
    return t


def _course(rng: random.Random, c: Case) -> str:
    s = rng.choice(("入院后完善相关检查：", "患者入院后完善辅助检查。", "入院后行血常规、生化等检查："))
    s += _workup(rng, c)
    s += rng.choice(("治疗上", "入院后")) + _treatment(rng, c) + "。"
    s += rng.choice(_PHRASES["course_outcome"])
    return s


def _discharge_state(rng: random.Random, c: Case) -> str:
    sbp, dbp, hr = rng.randint(118, 142), rng.randint(68, 86), rng.randint(60, 82)
    sym = _PHRASES["discharge_symptoms"][c.main]
    s = rng.choice((f"患者未诉{sym}等不适，饮食、睡眠可。", f"{sym}较入院时明显缓解，精神、食欲好转。"))
    s += f"查体：BP {sbp}/{dbp}mmHg，心率{hr}次/分，"
    s += "心律绝对不齐，" if c.has("I48.x01") else "律齐，"
    s += "双肺底少许湿啰音，双下肢水肿减轻。" if c.main == HF else "双肺呼吸音清，双下肢无水肿。"
    return s


def _drug_line(style: int, name: str, dose: str, freq: str) -> str:
    if style == 0:
        return f"{name} {dose} 口服 {freq}"
    return f"{name}，每次{dose}，{freq}"


def _orders(rng: random.Random, c: Case) -> str:
    rx: dict[str, list[str]] = _PHRASES["drugs"]  # name, dose, frequency; a drawn dose is one entry per dose
    drugs: list[list[str]] = []
    antithrombotic = False
    if c.main in (UA, NSTEMI, MVA) or c.has("I25.103", "Z95.501", "I25.200"):
        drugs.append(rx["aspirin"])
        antithrombotic = True
        if c.main in (UA, NSTEMI):
            drugs.append(rng.choice((rx["ticagrelor"], rx["clopidogrel"])))
            drugs.append(rx["pantoprazole"])
    if c.has(*AF):
        drugs.append(rng.choice((rx["rivaroxaban_15"], rx["rivaroxaban_20"])))
        antithrombotic = True
    drugs.append(rng.choice((rx["atorvastatin"], rx["rosuvastatin"])))
    if c.main in (UA, NSTEMI, HF) or c.has(*AF):
        drugs.append(rng.choice((rx["metoprolol"], rx["bisoprolol"])))
    if c.main == HF:
        drugs.append(rng.choice((rx["sacubitril_valsartan_50"], rx["sacubitril_valsartan_100"])))
        drugs += [rx["furosemide"], rx["spironolactone"], rx["dapagliflozin"]]
    if c.main == MVA:
        drugs += [rx["nicorandil"], rx["trimetazidine"]]
    if c.main == HT3:
        drugs += [rx["amlodipine"], rx["valsartan"]]
        if rng.random() < 0.5:
            drugs.append(rx["hydrochlorothiazide"] if not c.has("E87.600") else rx["spironolactone"])
    elif c.first(HT_GRADES) and c.main != HF:
        drugs.append(rng.choice((rx["amlodipine"], rx["irbesartan"])))
    if c.has(*DM):
        drugs.append(rx["metformin"] if not c.has("N19.x00x002") else rx["linagliptin"])
    if c.has("E87.600"):
        drugs.append(rx["potassium_chloride"])
    if c.has("E72.101"):
        drugs.append(rx["folic_acid"])
    style = rng.randint(0, 1)
    lines = "；".join(f"（{i}）{_drug_line(style, *d)}" for i, d in enumerate(drugs, 1))
    diet = "低盐低脂糖尿病饮食" if c.has(*DM) else "低盐低脂饮食"
    s = f"1.注意休息，{diet}，戒烟限酒，避免劳累及情绪激动。2.出院带药：{lines}。"
    s += rng.choice(("3.每日监测血压、心率，", "3.居家记录血压及脉搏，"))
    s += f"{rng.choice((1, 2, 4))}周后门诊复查血常规、肝肾功能、电解质及血脂。"
    if antithrombotic:
        s += "4.服用抗栓药物期间注意有无牙龈出血、黑便等，如有及时就诊。5.不适随诊。"
    else:
        s += "4.如有胸闷、胸痛、头晕加重等不适随时就诊。"
    if c.main == HF:
        s += "每日称体重，限制饮水量，体重短期内增加超过2kg需及时就医。"
    return s


def _diagnosis(rng: random.Random, c: Case) -> str:
    done: set[str] = set()
    head = _pick_dx(rng, c.main)
    if c.main in (UA, NSTEMI) and c.has("I25.103"):
        head = rng.choice(("冠状动脉粥样硬化性心脏病 ", "冠心病 ")) + head
        done.add("I25.103")
    grade = c.first(KILLIP) if c.main == NSTEMI else c.first(NYHA) if c.main in (UA, HF) else None
    if grade:
        head += " " + _pick_dx(rng, grade)
        done.add(grade)
    items = [head]
    rhythm = [o for o in c.others if o in AF + BEATS]
    nyha = next((o for o in c.others if o in NYHA and o not in done), None)
    for o in c.others:
        if o in done:
            continue
        if "I49.900" in c.others and rhythm and o in (*rhythm, "I49.900"):
            items.append("心律失常 " + " ".join(_pick_dx(rng, r) for r in rhythm))
            done.update((*rhythm, "I49.900"))
        elif nyha and "I25.103" in c.others and o in ("I25.103", nyha):
            items.append(f"{_pick_dx(rng, 'I25.103')} {_pick_dx(rng, nyha)}")
            done.update(("I25.103", nyha))
        else:
            items.append(_pick_dx(rng, o))
            done.add(o)
    style = rng.randint(0, 2)
    if style == 0:
        return "".join(f"{i}.{x}" for i, x in enumerate(items, 1))
    if style == 1:
        return "；".join(f"{i}、{x}" for i, x in enumerate(items, 1))
    return " ".join(f"（{i}）{x}" for i, x in enumerate(items, 1))


# ---------------------------------------------------------------- assembly


def _texts(rng: random.Random, c: Case) -> dict[str, str]:
    complaint = _complaint(rng, c)
    t = {
        "主诉": complaint + rng.choice(("。", "")),
        "现病史": _present_illness(rng, c),
        "既往史": _past_history(rng, c),
        "个人史": _personal(rng, c),
        "婚姻史": _marital(rng, c),
        "家族史": _family(rng, c),
        "入院情况": _admission(rng, c, complaint),
        "入院诊断": _diagnosis(rng, c),
        "诊疗经过": _course(rng, c),
        "出院情况": _discharge_state(rng, c),
        "出院医嘱": _orders(rng, c),
    }
    return {k: t[k] for k in TEXT_SECTIONS}


def generate_records(n_labelled: int = 60, n_unlabelled: int = 5, seed: int = 0) -> list[dict[str, str]]:
    """Synthetic discharge records in the competition's format, the same for the same seed.

    Labelled records (ids DEMO000001…) carry 主要诊断编码 and 其他诊断编码, with principal codes spread
    evenly over the five classes; unlabelled ones (ids DEMOU00001…) have no label keys.
    """
    rng = random.Random(seed)
    mains = [PRINCIPALS[i % len(PRINCIPALS)] for i in range(n_labelled)]
    rng.shuffle(mains)
    out: list[dict[str, str]] = []
    for i, main in enumerate(mains, 1):
        c = new_case(rng, f"DEMO{i:06d}", main)
        out.append({ID_KEY: c.rid, **_texts(rng, c), MAIN_KEY: c.main, OTHER_KEY: ";".join(c.others)})
    for i in range(1, n_unlabelled + 1):
        c = new_case(rng, f"DEMOU{i:05d}", rng.choice(PRINCIPALS))
        out.append({ID_KEY: c.rid, **_texts(rng, c)})
    return out
