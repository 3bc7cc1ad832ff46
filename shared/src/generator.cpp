// Synthetic applications: deterministic from a seed, realistic, and valid.
//
// generate_application() walks the form definition section by section and fills
// every applicant field by its type and its `gen` hint (FORMAT.md), so it keeps
// working when the form changes. Labels refine a hint where the hint alone is too
// coarse (an org_name labelled 批准单位 is a government body). All randomness comes
// from xoshiro256** seeded from the seed (salted with each top-level field id), and
// numbers are built as integers in hundredths, so the JSON is byte-identical on
// every machine and compiler. Keep it so: at most one RNG draw per `a + b`
// expression, since the order operands are evaluated in is unspecified. After
// filling, each rule of the form is made to hold generically (sum_equals,
// lte_field, gte, contains, prefix, ...) and hidden fields are dropped.
//
// [SECTION] index
//   Random numbers     Rng (splitmix64-seeded xoshiro256**), salted seeds
//   Word banks         themes, people, places, organisations, prose sentences
//   Text and numbers   UTF-8 cutting, label tests, fixed-point numbers in hundredths
//   Generator          per-application state; values by hint and by type
//   Walking the form   sections, tables, visible_if, optional gaps
//   Rules              making each rule of the form hold; dropping hidden fields
//   Member lists       members_*_names listing as many names as the count says
#include "shenbao/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "shenbao/validate.h"

namespace shenbao {
namespace {

using nlohmann::json;

// ============================================================ [SECTION] Random numbers

class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (std::uint64_t& word : s_) word = splitmix64(seed);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
    std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
        if (hi <= lo) return lo;
        return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool percent(int p) { return static_cast<int>(next() % 100) < p; }
    std::size_t weighted(std::initializer_list<int> weights) {
        int total = 0;
        for (int w : weights) total += w;
        int r = static_cast<int>(next() % static_cast<std::uint64_t>(total));
        std::size_t i = 0;
        for (int w : weights) {
            if (r < w) return i;
            r -= w;
            ++i;
        }
        return 0;
    }
    template <class T>
    const T& pick(const std::vector<T>& items) { return items[below(items.size())]; }

private:
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

// A seed for one part of the application, so adding a field does not reshuffle the others.
std::uint64_t salted(std::uint64_t seed, std::string_view salt) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : salt) h = (h ^ c) * 1099511628211ull;
    return seed ^ (h * 0x9e3779b97f4a7c15ull);
}

// ============================================================ [SECTION] Word banks

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start < s.size();) {
        std::size_t end = std::min(s.find(sep, start), s.size());
        if (end > start) out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// A Chinese word and its ASCII companion: "王:wang", "重庆大学|cqu.edu.cn".
struct Pair {
    std::string zh, ascii;
};
std::vector<Pair> pairs(std::string_view s, char sep) {
    std::vector<Pair> out;
    for (const std::string& w : split(s, ' ')) {
        std::size_t at = w.find(sep);
        out.push_back({w.substr(0, at), at == std::string::npos ? "" : w.substr(at + 1)});
    }
    return out;
}

// An industry theme: the alliance's field and the vocabulary that goes with it.
struct Theme {
    std::string field;
    std::vector<std::string> subjects, industries, keywords, products;
};

const std::vector<Theme>& themes() {
    auto theme = [](const char* field, const char* subjects, const char* industries, const char* keywords,
                    const char* products) {
        return Theme{field, split(subjects, ' '), split(industries, ' '), split(keywords, ' '), split(products, ' ')};
    };
    static const std::vector<Theme> all = {
        theme("智能网联新能源汽车", "新能源汽车 智能网联汽车 汽车电子 动力电池 汽车轻量化 氢燃料电池汽车", "汽车零部件 汽车电子 新能源科技 动力系统",
              "线控底盘 车规级芯片 动力电池热管理 高精度定位 智能座舱 电驱动总成", "新能源汽车驱动电机 电池管理系统 智能座舱域控制器 车载毫米波雷达 一体化压铸车身件"),
        theme("集成电路", "功率半导体 模拟芯片 半导体封装测试 化合物半导体 智能传感器", "微电子 半导体 集成电路 芯片科技",
              "功率半导体 模拟芯片设计 晶圆级封装 碳化硅器件 硅基光电子 MEMS工艺", "IGBT功率模块 12英寸硅片 电源管理芯片 MEMS压力传感器 碳化硅二极管"),
        theme("新型显示", "超高清视频 显示材料 柔性显示 车载显示 光电显示", "光电 显示科技 电子材料 光电科技",
              "柔性OLED Micro-LED 量子点显示 高世代面板驱动 触控一体化 光学膜材料", "TFT-LCD液晶面板 柔性AMOLED模组 车载显示屏 偏光片 液晶玻璃基板"),
        theme("先进材料", "新材料 铝镁合金 复合材料 特种玻璃纤维 高性能金属材料", "新材料 铝业 复合材料 合金科技",
              "高强韧铝合金 碳纤维复合材料 镁合金轻量化 高性能玻璃纤维 石墨烯改性 增材制造粉末", "高强度铝合金型材 镁合金压铸件 电子级玻璃纤维布 碳纤维预浸料 钛合金锻件"),
        theme("生物医药", "医疗器械 创新药物 体外诊断 生物制品 高端医疗装备", "生物技术 医药 生物制药 医疗器械",
              "重组蛋白药物 抗体药物 基因检测 高端医疗器械 疫苗工艺 细胞治疗", "重组人生长激素 体外诊断试剂 人用狂犬病疫苗 超声聚焦治疗设备 胰岛素注射笔"),
        theme("工业互联网", "工业软件 数字化车间 智能制造系统 工业大数据 5G+工业应用", "信息技术 网络科技 数字科技 软件",
              "工业互联网标识解析 边缘计算 工业大数据 数字孪生 工业控制安全 设备预测性维护", "工业互联网平台 5G工业网关 设备远程运维系统 MES制造执行系统 工业数据采集终端"),
        theme("智能装备", "工业机器人 高档数控机床 智能制造装备 增材制造装备 智能检测装备", "智能装备 机器人 精密机械 自动化",
              "精密减速器 高档数控系统 机器视觉检测 伺服驱动 智能产线集成 激光加工", "六轴工业机器人 五轴联动数控机床 智能仓储物流系统 视觉检测设备 精密齿轮机床"),
        theme("轨道交通装备", "跨座式单轨 城市轨道交通 轨道交通运维 轨道交通装备制造", "轨道交通装备 机电 轨道科技 电气",
              "跨座式单轨 牵引变流 列车网络控制 轨道减振降噪 智能运维 轨道梁制造", "单轨车辆转向架 牵引变流器 轨道减振扣件 列车网络控制系统 道岔设备"),
        theme("绿色建材", "装配式建筑 建筑节能 固废资源化 低碳建材 绿色建筑", "建材 环保科技 新型建材 建筑科技",
              "装配式建筑构件 固废资源化利用 低碳水泥 节能玻璃 建筑光伏一体化 再生骨料", "蒸压加气混凝土板 低辐射镀膜玻璃 再生骨料 装配式墙板 保温装饰一体板"),
        theme("现代中药", "中药材 中医药 道地药材 中药制剂 中药饮片", "药业 中药 生物科技 医药",
              "中药配方颗粒 道地药材规范化种植 中药质量标志物 经典名方开发 中药智能制造 中药材溯源", "中药配方颗粒 黄连提取物 中药注射剂 枳壳饮片 玄参提取物"),
        theme("人工智能", "大数据智能化 智能语音 计算机视觉 智能终端 智能机器人", "智能科技 软件 信息技术 数据科技",
              "计算机视觉 自然语言处理 智能语音 知识图谱 联邦学习 智能芯片适配", "智能语音交互系统 工业视觉检测平台 智慧政务平台 智能客服系统 智能安防摄像机"),
        theme("新能源与储能", "储能 氢能 光伏 智能电网 新型电力装备", "能源科技 新能源 电气 储能科技",
              "锂离子电池储能 氢燃料电池 光伏逆变 智能微电网 固态电池 储能系统集成", "储能变流器 磷酸铁锂电芯 氢燃料电池电堆 智能电表 光伏逆变器"),
        theme("节能环保", "环保装备 水污染治理 大气污染治理 固废处理 生态修复", "环保科技 环境工程 节能科技 环保",
              "垃圾焚烧发电 工业废水处理 烟气脱硫脱硝 污泥资源化 土壤修复 膜分离", "垃圾焚烧炉排 MBR膜组件 烟气净化设备 污泥干化设备 脱硝催化剂"),
        theme("软件和信息服务", "信息安全 云计算 区块链 数字文创 信创", "软件 信息技术 网络科技 数字科技",
              "云原生 区块链 数据安全 低代码开发 信创适配 隐私计算", "政务云平台 区块链存证系统 数据安全网关 低代码开发平台 数字档案管理系统"),
        theme("摩托车及通用机械", "摩托车 通用机械 电动摩托车 大排量摩托车 园林机械", "摩托车 机车 动力机械 通用机械",
              "大排量发动机 电喷系统 电动两轮车三电 摩托车轻量化车架 通用汽油机 排放控制", "大排量摩托车 电动摩托车 通用汽油发电机组 摩托车电喷系统 园林机械"),
    };
    return all;
}

const std::vector<Pair>& surnames() {  // commonest first: person_name() favours the front
    static const auto v = pairs(
        "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun 马:ma 朱:zhu "
        "胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 郑:zheng 梁:liang 谢:xie 宋:song 唐:tang 许:xu 韩:han 冯:feng "
        "邓:deng 曹:cao 彭:peng 曾:zeng 肖:xiao 田:tian 董:dong 袁:yuan 潘:pan 蒋:jiang 蔡:cai 余:yu 杜:du 叶:ye "
        "程:cheng 魏:wei 苏:su 丁:ding 任:ren 沈:shen 姚:yao 卢:lu 傅:fu 钟:zhong 谭:tan 廖:liao 范:fan 陆:lu "
        "金:jin 石:shi 戴:dai 贾:jia 夏:xia 邱:qiu 方:fang 侯:hou 邹:zou 熊:xiong 秦:qin 白:bai 江:jiang 冉:ran "
        "向:xiang 雷:lei 龙:long 陶:tao 贺:he 毛:mao 龚:gong 黎:li 文:wen 牟:mou", ':');
    return v;
}

const std::vector<Pair>& given_chars() {
    static const auto v = pairs(
        "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan 杰:jie 娟:juan "
        "涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 华:hua 建:jian 文:wen 辉:hui 林:lin 鹏:peng 宇:yu "
        "浩:hao 凯:kai 晨:chen 婷:ting 雪:xue 琳:lin 峰:feng 斌:bin 波:bo 红:hong 玲:ling 志:zhi 海:hai 亮:liang "
        "鑫:xin 晶:jing 颖:ying 欣:xin 然:ran 俊:jun 博:bo 思:si 雨:yu 佳:jia 慧:hui 丹:dan 瑞:rui 嘉:jia 旭:xu "
        "东:dong 晓:xiao 云:yun 飞:fei 春:chun 兵:bing 国:guo 成:cheng 荣:rong 德:de 庆:qing 翔:xiang 怡:yi "
        "琪:qi 松:song 川:chuan 毅:yi 坤:kun 蕾:lei 萍:ping 莉:li 阳:yang 帆:fan 倩:qian 梅:mei 兰:lan", ':');
    return v;
}

const std::vector<Pair>& brand_chars() {
    static const auto v = pairs(
        "长:chang 鑫:xin 华:hua 瑞:rui 智:zhi 达:da 博:bo 恒:heng 宏:hong 远:yuan 创:chuang 科:ke 隆:long "
        "盛:sheng 泰:tai 金:jin 立:li 联:lian 帆:fan 渝:yu 川:chuan 巴:ba 蜀:shu 嘉:jia 源:yuan 峰:feng 锐:rui "
        "德:de 顺:shun 海:hai 天:tian 宇:yu 润:run 众:zhong 星:xing 通:tong 凯:kai 弘:hong 诚:cheng 耀:yao "
        "启:qi 航:hang 睿:rui 驰:chi 明:ming 晟:sheng 中:zhong 正:zheng 腾:teng 云:yun 江:jiang 铭:ming 安:an", ':');
    return v;
}

const std::vector<Pair>& universities() {
    static const auto v = pairs(
        "重庆大学|cqu.edu.cn 西南大学|swu.edu.cn 重庆邮电大学|cqupt.edu.cn 重庆交通大学|cqjtu.edu.cn "
        "重庆理工大学|cqut.edu.cn 重庆医科大学|cqmu.edu.cn 西南政法大学|swupl.edu.cn 重庆工商大学|ctbu.edu.cn "
        "重庆师范大学|cqnu.edu.cn 重庆科技学院|cqust.edu.cn 重庆文理学院|cqwu.edu.cn 重庆三峡学院|sanxiau.edu.cn "
        "长江师范学院|yznu.edu.cn 四川外国语大学|sisu.edu.cn 重庆电子工程职业学院|cqcet.edu.cn", '|');
    return v;
}

const std::vector<Pair>& institutes() {
    static const auto v = pairs(
        "中国科学院重庆绿色智能技术研究院|cigit.ac.cn 重庆市计量质量检测研究院|cqjlzj.com "
        "机械工业第三设计研究院有限公司|cmtdi.com 中国汽车工程研究院股份有限公司|caeri.com.cn "
        "重庆市科学技术研究院|cqas.cn 中冶赛迪集团有限公司|cisdi.com.cn 重庆材料研究院有限公司|cqmri.com "
        "重庆市中药研究院|cqtcm.com 招商局重庆交通科研设计院有限公司|cmhk.com "
        "中国兵器装备集团自动化研究所有限公司|sari.com.cn 重庆市农业科学院|cqaas.cn 重庆市生态环境科学研究院|cqhky.cn", '|');
    return v;
}

struct District {
    std::string name, postcode;
    std::vector<std::string> roads;
};
const std::vector<District>& districts() {
    static const std::vector<District> v = [] {
        std::vector<District> out;
        for (const std::string& w : split(
                 "渝北区/401120:金开大道,黄山大道,新南路 江北区/400020:建新北路,北滨一路,洋河一路 "
                 "九龙坡区/400050:科园一路,科园四路,渝州路,石杨路 沙坪坝区/400030:大学城南路,西永大道,学城大道 "
                 "南岸区/400060:南坪西路,江南大道,通江大道 巴南区/401320:渝南大道,龙洲大道,巴滨路 "
                 "北碚区/400700:云汉大道,天生路,碚峡路 渝中区/400010:民族路,中山三路,长江一路 "
                 "大渡口区/400080:春晖路,翠柏路,钢花路 璧山区/402760:东林大道,璧青路 永川区/402160:兴龙大道,凤凰湖大道 "
                 "两江新区/401122:星光大道,汇流路,金渝大道,春华大道 江津区/402260:鼎山大道,圣泉路 "
                 "涪陵区/408000:太白大道,兴华中路 长寿区/401220:齐心大道,桃花大道", ' ')) {
            std::size_t slash = w.find('/'), colon = w.find(':');
            out.push_back({w.substr(0, slash), w.substr(slash + 1, colon - slash - 1), split(w.substr(colon + 1), ',')});
        }
        return out;
    }();
    return v;
}

// Sentences of a 建设运行报告. Slots: {A} alliance {F} field {L} lead {E} enterprise {U} university
// {I} institute {K} keyword {P} product {D} district {B} financial institution
// {N} 3–30 {M} 50–600 {W} 万元 amount {R} percentage {Y} recent year {T} topic.
const std::vector<std::string_view>& report_sentences() {
    static const std::vector<std::string_view> v = {
        "{A}由{L}牵头，联合{U}、{I}等{N}家单位共同发起组建，是以企业为主体、市场为导向、产学研深度融合的技术创新合作组织。",
        "当前，{F}产业正处于技术快速迭代和产业格局深度调整的关键时期，重庆作为国家重要的先进制造业基地，具备较好的产业基础和配套能力。",
        "但从整体看，我市{F}领域仍存在关键核心技术对外依存度高、创新资源分散、产学研协同不够紧密等突出问题。",
        "组建联盟有利于整合产业链上下游创新资源，集中力量突破{K}等制约产业发展的共性技术瓶颈。",
        "联盟实行理事会领导下的秘书长负责制，理事会由{N}家成员单位的代表组成，负责审议联盟发展规划、年度工作计划和重大事项。",
        "秘书处设在{E}，配备专职工作人员{N}名，负责联盟日常事务的组织协调、信息沟通和档案管理。",
        "联盟下设专家委员会，聘请{U}、{I}等单位的{N}名知名专家担任委员，为联盟技术路线选择和重大项目论证提供咨询。",
        "联盟按照“优势互补、利益共享、风险共担、共同发展”的原则，以项目为纽带开展多种形式的合作。",
        "针对{K}等共性关键技术，联盟采取“企业出题、院校答题、联盟组织”的方式，组织成员单位联合申报和实施科研项目。",
        "近三年，联盟成员单位共同承担国家和重庆市科技项目{N}项，累计投入研发经费{W}万元。",
        "联盟建立了成员单位准入和退出机制，对新申请加入的单位进行资质审查，对长期不参加联盟活动的成员予以劝退。",
        "联盟每年至少召开两次理事会会议，听取秘书处工作报告，研究部署下一阶段重点任务。",
        "联盟制定了《{A}章程》《联盟项目管理办法》《联盟经费管理办法》等制度，确保联盟规范有序运行。",
        "在知识产权管理方面，成员单位在合作前签订协议，明确合作研发中产生的知识产权归属、使用和收益分配方式。",
        "联盟合作项目形成的知识产权原则上归项目承担各方共有，成员单位在同等条件下享有优先使用和有偿受让的权利。",
        "对于联盟共同出资形成的专利、标准和技术秘密，按照各方投入比例分配收益，并提取一定比例用于联盟后续研发。",
        "联盟经费主要来源于成员单位缴纳的会费、政府科技计划项目资助、社会捐赠以及联盟技术服务收入。",
        "联盟经费实行专款专用、独立核算，由秘书处统一管理，年度收支情况向理事会报告并接受成员单位监督。",
        "{Y}年，联盟各类经费收入{W}万元，其中成员单位投入占比约{R}%。",
        "联盟将围绕{F}产业发展的前瞻性、战略性需求，重点开展{K}、{K}等方向的技术预研。",
        "力争到2025年，在{K}领域突破关键核心技术{N}项以上，形成具有自主知识产权的核心产品{N}个。",
        "联盟将组织成员单位参与制修订国家标准、行业标准和团体标准{N}项，提升重庆{F}产业在标准领域的话语权。",
        "联盟计划联合{U}等单位编制《重庆市{F}产业技术路线图》，明确未来五年产业技术发展方向和重点任务。",
        "依托{I}和{E}的研发条件，联盟拟共建{K}公共技术服务平台，面向成员单位和中小企业开放共享大型仪器设备。",
        "目前，联盟成员单位共拥有国家级和市级研发平台{N}个，大型科研仪器设备{M}台（套），总价值超过{W}万元。",
        "联盟将推动{P}等科技成果在成员企业实现转化，计划在{D}建设成果转化与产业化基地。",
        "联盟积极搭建创新资源共享平台，建立成员单位专家库、成果库和需求库，累计入库专家{M}名、技术成果{M}项。",
        "每年举办技术交流会、成果对接会、专题培训等活动不少于{N}场次，邀请行业专家解读{F}领域最新技术趋势。",
        "联盟将实施高层次人才引育计划，依托成员单位引进和培养领军人才、青年拔尖人才{N}名以上。",
        "联盟支持{U}与成员企业共建研究生联合培养基地和博士后科研工作站，近三年联合培养研究生{M}名。",
        "{Y}年，联盟组织成员单位联合攻关{K}技术，相关成果已在{E}实现批量应用，新增产值约{W}万元。",
        "近三年，联盟成员单位累计申请发明专利{M}项，获得授权发明专利{M}项，获省部级以上科技奖励{N}项。",
        "{E}与{U}合作研发的{P}，关键性能指标达到国内领先水平，国内市场占有率提升至{R}%。",
        "联盟组织开展{F}产业链上下游供需对接活动{N}次，促成成员单位间合作项目{N}项，合同金额{W}万元。",
        "联盟积极承接政府部门委托的产业调研、技术评估等工作，形成《重庆市{F}产业发展研究报告》等咨询成果{N}份。",
        "通过联盟平台，成员单位之间的技术合作由过去一对一的松散合作转变为多主体、长期稳定的协同创新。",
        "联盟注重发挥龙头企业的引领作用，带动{N}家中小企业融入产业链创新体系。",
        "下一步，联盟将进一步完善运行机制，扩大成员规模，提升服务能力，努力建设成为国内有影响力的产业技术创新联盟。",
        "联盟建立了重大事项协商决策机制，涉及成员共同利益的事项须经理事会三分之二以上成员同意方可实施。",
        "秘书处每季度编发联盟工作简报，及时通报联盟工作进展、政策信息和成员单位动态。",
        "联盟建立了项目全过程管理制度，对合作项目实行立项论证、中期检查和结题验收，确保项目按期高质量完成。",
        "联盟鼓励成员单位以技术入股、许可使用等方式推动知识产权转化运用，收益按照合同约定分配。",
        "联盟设立知识产权工作组，负责对联盟内专利布局、侵权风险和成果转化进行统筹指导。",
        "成员单位退出联盟时，其在联盟期间形成的共有知识产权按照原协议执行，不得损害其他成员的合法权益。",
        "联盟积极争取重庆市科技计划项目和产业发展资金支持，并引导金融机构为成员企业提供科技信贷服务。",
        "联盟与{B}等金融机构建立合作关系，为成员企业提供知识产权质押融资、科技保险等服务，累计融资{W}万元。",
        "{Y}年以来，联盟联合{I}开展{K}技术攻关，完成样机研制和中试验证，部分指标优于国外同类产品。",
        "联盟坚持需求牵引，定期梳理成员企业技术需求{M}余项，组织高校和科研院所对接解决。",
        "联盟将以{D}为核心承载区，推动形成研发在高校院所、转化在园区、产业化在企业的协同发展格局。",
        "联盟将组织成员单位赴长三角、粤港澳大湾区等地开展考察交流，学习先进地区产业创新经验。",
        "联盟与成渝地区双城经济圈内相关产业联盟建立了常态化交流机制，共同推动区域{F}产业协同发展。",
        "{L}作为牵头单位，年研发投入占销售收入比例保持在{R}%以上，具备较强的技术创新和资源整合能力。",
        "联盟成员覆盖{F}产业链研发设计、生产制造、检验检测、应用服务等主要环节，产业代表性强。",
        "联盟将建立健全绩效评价机制，每年对成员单位参与联盟工作情况进行考核，考核结果作为项目支持的重要依据。",
        "联盟充分发挥{U}在基础研究方面的优势，围绕{K}开展机理研究和前沿技术探索，为产业发展提供源头技术支撑。",
    };
    return v;
}

// ============================================================ [SECTION] Text and numbers

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// Cuts `s` to at most `max_chars` code points, at a character boundary (0: no limit).
std::string fit(std::string s, std::size_t max_chars) {
    if (max_chars == 0 || s.size() <= max_chars) return s;  // bytes bound code points
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == max_chars) {
            s.resize(i);
            break;
        }
    return s;
}

bool label_has(const Field& f, std::string_view word) { return f.label.zh.find(word) != std::string::npos; }

// "（一）联盟合作模式和运行机制" -> "联盟合作模式和运行机制"; "五、近三年…" -> "近三年…".
std::string topic_of(std::string label) {
    const std::string_view open = "（", close = "）", comma = "、";
    if (label.rfind(open, 0) == 0) {
        std::size_t e = label.find(close);
        if (e != std::string::npos) return label.substr(e + close.size());
    }
    std::size_t e = label.find(comma);
    if (e != std::string::npos && e <= 6) return label.substr(e + comma.size());
    return label;
}

// Numbers are built in hundredths (1250.50 -> 125050) so no floating point reaches the output.
using Centi = std::int64_t;

Centi to_centi(double d) { return static_cast<Centi>(std::llround(d * 100)); }
Centi floor_to(Centi v, Centi step) {
    Centi q = v / step * step;
    return q > v ? q - step : q;
}
Centi ceil_to(Centi v, Centi step) { return -floor_to(-v, step); }

// The smallest step a field's value may take, in hundredths.
Centi step_of(const Field& f) {
    if (f.type == FieldType::Integer || f.precision <= 0) return 100;
    return f.precision == 1 ? 10 : 1;
}

// Onto the field's step and within its min / max.
Centi fit_range(const Field& f, Centi v) {
    const Centi step = step_of(f);
    v = floor_to(v, step);
    if (f.min) v = std::max(v, ceil_to(to_centi(*f.min), step));
    if (f.max) v = std::min(v, floor_to(to_centi(*f.max), step));
    return v;
}

std::string format_number(const Field& f, Centi v) {
    const std::uint64_t a = static_cast<std::uint64_t>(v < 0 ? -v : v);
    std::string out = (v < 0 ? "-" : "") + std::to_string(a / 100);
    const int decimals = f.type == FieldType::Integer ? 0 : f.precision;
    if (decimals <= 0) return out;
    char frac[8];
    std::snprintf(frac, sizeof frac, "%02u", static_cast<unsigned>(a % 100));
    out += '.';
    out += decimals == 1 ? std::string(1, frac[0]) : std::string(frac) + std::string(static_cast<std::size_t>(decimals - 2), '0');
    return out;
}

std::optional<Centi> centi_of(const json& container, const std::string& id) {
    auto it = container.find(id);
    if (it == container.end()) return std::nullopt;
    auto n = number_of(&*it);
    if (!n) return std::nullopt;
    return to_centi(*n);
}

std::string two_digits(std::int64_t n) { return (n < 10 ? "0" : "") + std::to_string(n); }

// ============================================================ [SECTION] Generator

enum class OrgKind { Enterprise, University, Institute, Service, Association, Finance, Outside, Any };

// What a member-count field counts, from its label (企业 / 高校 / 科研机构 / …).
OrgKind org_kind_of(const Field& f) {
    if (label_has(f, "市外")) return OrgKind::Outside;
    if (label_has(f, "高校")) return OrgKind::University;
    if (label_has(f, "科研")) return OrgKind::Institute;
    if (label_has(f, "协会")) return OrgKind::Association;
    if (label_has(f, "中介")) return OrgKind::Service;
    if (label_has(f, "金融")) return OrgKind::Finance;
    if (label_has(f, "企业")) return OrgKind::Enterprise;
    return OrgKind::Any;
}

class Generator {
public:
    Generator(const FormDefinition& form, std::uint64_t seed) : form_(form), seed_(seed), rng_(salted(seed, "theme")) {
        theme_ = &rng_.pick(themes());
        std::string subject = rng_.percent(20) ? theme_->field : rng_.pick(theme_->subjects);
        std::size_t region = rng_.weighted({82, 12, 6});
        alliance_ = (region == 0 ? "重庆市" : region == 1 ? "川渝" : "成渝地区双城经济圈") + subject + "产业技术创新联盟";
    }

    json run() {
        for (const Section& s : form_.sections) {
            forget_context();
            fill_fields(s.fields, record_, nullptr);
        }
        apply_rules();
        drop_hidden();
        fill_member_lists();
        return std::move(record_);
    }

private:
    // Context: what the current section or table row has just named, so that the
    // e-mail matches the contact person and the website the organisation.
    void forget_context() {
        money_scale_ = rng_.weighted({30, 40, 25, 5});  // one organisation's sums share a magnitude
        domain_.clear();
        kind_.clear();
        postcode_.clear();
        surname_py_.clear();
    }

    void remember(std::vector<std::string>& pool, const std::string& name) {
        if (pool.size() < 12 && std::find(pool.begin(), pool.end(), name) == pool.end()) pool.push_back(name);
    }

    bool in_table_labelled(std::string_view word) const {
        return table_ && table_->label.zh.find(word) != std::string::npos;
    }

    // ---- people, places, contact details

    std::string person_name() {
        const auto& sn = surnames();
        std::size_t i = rng_.below(sn.size());
        if (rng_.percent(60)) i = std::min(i, rng_.below(sn.size()));  // common surnames more often
        std::string name = sn[i].zh;
        surname_py_ = sn[i].ascii;
        given_py_.clear(), initials_.clear();
        for (int k = rng_.percent(30) ? 1 : 2; k > 0; --k) {
            const Pair& g = rng_.pick(given_chars());
            name += g.zh, given_py_ += g.ascii, initials_ += g.ascii[0];
        }
        return name;
    }

    std::string person_names(std::int64_t lo, std::int64_t hi) {
        std::string out;
        for (std::int64_t k = rng_.between(lo, hi); k > 0; --k) out += (out.empty() ? "" : "、") + person_name();
        return out;
    }

    std::string address() {
        const District& d = rng_.pick(districts());
        postcode_ = d.postcode;
        std::string s = "重庆市" + d.name + rng_.pick(d.roads);
        s += std::to_string(rng_.between(1, 399)) + "号";
        if (rng_.percent(25)) s += std::to_string(rng_.between(1, 12)) + "栋";
        return s;
    }

    std::string postal_code() {
        if (!postcode_.empty()) return postcode_;
        std::int64_t n = rng_.between(10, 9999);
        return "40" + two_digits(n / 100) + two_digits(n % 100);
    }

    std::string digits(int n) {
        std::string s;
        for (int k = 0; k < n; ++k) s += static_cast<char>('0' + rng_.below(10));
        return s;
    }

    std::string landline() {
        std::string s = std::string("023-") + "6668486"[rng_.below(7)];
        return s + digits(7);
    }

    std::string mobile() {
        static const auto prefixes = split("130 131 132 133 135 136 137 138 139 150 151 152 155 157 158 159 166 173 "
                                           "177 180 181 182 183 185 186 187 188 189 191 199", ' ');
        const std::string& prefix = rng_.pick(prefixes);
        return prefix + digits(8);
    }

    std::string email() {
        if (surname_py_.empty()) person_name();  // nobody named yet: invent the owner
        static const auto public_mail = split("163.com 126.com qq.com sina.com foxmail.com 139.com", ' ');
        if (!domain_.empty() && rng_.percent(65)) return mailbox() + "@" + domain_;
        const std::string& d = rng_.pick(public_mail);
        if (d == "qq.com") return std::to_string(rng_.between(10000000, 2999999999)) + "@qq.com";
        return mailbox() + "@" + d;
    }

    std::string mailbox() {
        std::string local;
        switch (rng_.below(4)) {
            case 0: local = surname_py_ + given_py_; break;
            case 1: local = surname_py_ + "." + given_py_; break;
            case 2: local = surname_py_ + initials_; break;
            default: local = given_py_ + "_" + surname_py_; break;
        }
        if (rng_.percent(40)) local += std::to_string(rng_.between(1, 999));
        return local;
    }

    std::string url() {
        if (domain_.empty()) brand();
        return "www." + domain_;
    }

    std::string date(const Field& f) {
        // A signature date (labelled just 日期) is the filing season; others are in the past.
        const bool signing = f.label.zh == "日期";
        std::int64_t y = signing ? 2022 : rng_.between(2008, 2021);
        std::int64_t m = signing ? rng_.between(4, 6) : rng_.between(1, 12);
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        std::int64_t d = rng_.between(1, days[m - 1] + (m == 2 && y % 4 == 0 ? 1 : 0));
        return std::to_string(y) + "-" + two_digits(m) + "-" + two_digits(d);
    }

    // ---- organisations

    // Two brand characters; sets the web domain from their pinyin.
    std::string brand() {
        const auto& bc = brand_chars();
        const Pair& a = rng_.pick(bc);
        const Pair* b = &rng_.pick(bc);
        while (b->zh == a.zh) b = &rng_.pick(bc);
        static const auto tlds = split("com.cn com cn", ' ');
        domain_ = (rng_.percent(30) ? "cq" : "") + a.ascii + b->ascii + ".";
        domain_ += rng_.pick(tlds);
        return a.zh + b->zh;
    }

    std::string enterprise(const std::string& city = "重庆") {
        std::string name = city + brand();
        const Theme& t = rng_.percent(80) ? *theme_ : rng_.pick(themes());
        std::size_t form = rng_.weighted({70, 20, 10});
        name += rng_.pick(t.industries) + (form == 0 ? "有限公司" : form == 1 ? "股份有限公司" : "集团有限公司");
        kind_ = form == 1 ? "joint_stock" : "limited";
        remember(enterprises_, name);
        return name;
    }

    std::string university() {
        const Pair& u = rng_.pick(universities());
        domain_ = u.ascii, kind_ = "university";
        remember(universities_, u.zh);
        return u.zh;
    }

    std::string research_institute() {
        std::string name;
        if (rng_.percent(75)) {
            const Pair& p = rng_.pick(institutes());
            name = p.zh, domain_ = p.ascii;
        } else {
            name = "重庆市" + rng_.pick(theme_->industries) + "研究院";
            domain_.clear();
        }
        kind_ = "research_institute";
        remember(institutes_, name);
        return name;
    }

    std::string service_org() {
        static const auto known = split("重庆市生产力促进中心 重庆科技服务大市场 重庆市科技发展战略研究院 重庆市技术转移研究院", ' ');
        static const auto trades = split("知识产权代理有限公司 科技咨询有限公司 检测技术有限公司 技术转移服务有限公司 认证服务有限公司", ' ');
        kind_ = "service";
        if (rng_.percent(40)) {
            domain_.clear();
            return rng_.pick(known);
        }
        std::string name = "重庆" + brand();
        return name + rng_.pick(trades);
    }

    std::string association() {
        static const auto known = split("重庆市机械工程学会 重庆市汽车工程学会 重庆市软件行业协会 重庆市电子学会 "
                                        "重庆市医药行业协会 重庆市企业联合会 重庆市科技服务业协会 重庆市质量协会", ' ');
        static const auto kinds = split("行业协会 产业协会 产业联合会", ' ');
        if (rng_.percent(35)) return rng_.pick(known);
        std::string name = "重庆市" + rng_.pick(rng_.percent(50) ? theme_->industries : theme_->subjects);
        return name + rng_.pick(kinds);
    }

    std::string finance_org() {
        static const auto known = split(
            "中国工商银行股份有限公司重庆市分行 中国建设银行股份有限公司重庆市分行 重庆银行股份有限公司 "
            "重庆农村商业银行股份有限公司 重庆三峡银行股份有限公司 重庆科技风险投资有限公司 "
            "重庆市科技融资担保有限公司 招商银行股份有限公司重庆分行 中国银行股份有限公司重庆市分行 "
            "中国农业银行股份有限公司重庆市分行 交通银行股份有限公司重庆市分行 重庆产业引导股权投资基金有限责任公司", ' ');
        return rng_.pick(known);
    }

    std::string outside_org() {
        static const auto known = split("清华大学 上海交通大学 北京理工大学 四川大学 电子科技大学 西安交通大学 华中科技大学 "
                                        "浙江大学 哈尔滨工业大学 中国科学院深圳先进技术研究院 中国信息通信研究院", ' ');
        static const auto cities = split("成都 西安 深圳 上海 武汉 北京 苏州 贵阳", ' ');
        return rng_.percent(50) ? rng_.pick(known) : enterprise(rng_.pick(cities));
    }

    std::string org_of_kind(OrgKind kind) {
        switch (kind) {
            case OrgKind::Enterprise: return enterprise();
            case OrgKind::University: return university();
            case OrgKind::Institute: return research_institute();
            case OrgKind::Service: return service_org();
            case OrgKind::Association: return association();
            case OrgKind::Finance: return finance_org();
            case OrgKind::Outside: return outside_org();
            case OrgKind::Any: break;
        }
        std::size_t r = rng_.weighted({50, 30, 20});
        return r == 0 ? enterprise() : r == 1 ? research_institute() : association();
    }

    // "A、B、C" — up to six distinct names, then 等 when the count is larger.
    std::string org_list(OrgKind kind, std::int64_t count) {
        std::vector<std::string> names;
        for (std::int64_t i = 0; i < std::min<std::int64_t>(count, 6); ++i)
            for (int attempt = 0; attempt < 30; ++attempt) {
                std::string n = org_of_kind(kind);
                if (std::find(names.begin(), names.end(), n) == names.end()) { names.push_back(n); break; }
            }
        std::string out;
        for (const std::string& n : names) out += (out.empty() ? "" : "、") + n;
        return count > 6 ? out + "等" : out;
    }

    // A government body that approves projects, grants platform status or awards prizes.
    std::string authority(const Field& f) {
        static const auto national = split("科学技术部 国家发展和改革委员会 工业和信息化部 教育部", ' ');
        static const auto city = split("重庆市科学技术局 重庆市经济和信息化委员会 重庆市发展和改革委员会 重庆市教育委员会", ' ');
        static const auto prizes = split("重庆市人民政府 国务院 中国机械工业联合会 中国汽车工程学会 国家知识产权局", ' ');
        if (label_has(f, "国家")) return rng_.pick(national);
        if (label_has(f, "市级") || label_has(f, "其它")) return rng_.pick(city);
        if (in_table_labelled("奖")) return rng_.pick(prizes);
        return rng_.pick(rng_.percent(35) ? national : city);
    }

    std::string org_name(const Field& f) {
        if (label_has(f, "批准") || label_has(f, "授予")) return authority(f);
        if (label_has(f, "单位名称")) {  // the first such outside a table is the lead organisation
            std::string name = enterprise();
            if (!table_ && lead_.empty()) lead_ = name;
            return name;
        }
        std::size_t r = rng_.weighted({60, 25, 15});
        if (r == 0) return enterprise();
        if (r == 2) return research_institute();
        static const auto schools = split("机械与运载工程学院 材料科学与工程学院 计算机学院 电气工程学院 化学化工学院 药学院 自动化学院", ' ');
        std::string u = university();
        return label_has(f, "院、系") ? u + rng_.pick(schools) : u;
    }

    // institute_name: the member organisation itself (单位名称) or a named R&D platform.
    std::string institute_name(const Field& f) {
        if (label_has(f, "单位")) {
            std::size_t r = rng_.weighted({45, 40, 15});
            return r == 0 ? research_institute() : r == 1 ? university() : service_org();
        }
        static const std::vector<std::string_view> national = {"国家{K}工程研究中心", "国家企业技术中心", "{K}国家地方联合工程研究中心", "国家{F}技术创新中心"};
        static const std::vector<std::string_view> city = {"重庆市{K}工程技术研究中心", "重庆市{K}重点实验室", "重庆市企业技术中心", "重庆市{F}技术创新中心"};
        static const std::vector<std::string_view> other = {"院士专家工作站", "博士后科研工作站", "{K}联合实验室", "重庆市技能大师工作室"};
        if (label_has(f, "其它")) return fill(rng_.pick(other));
        const bool is_national = label_has(f, "国家") || (!label_has(f, "市级") && rng_.percent(30));
        kind_ = is_national ? "national" : "city";
        return fill(rng_.pick(is_national ? national : city));
    }

    // ---- prose

    std::string slot(char c) {
        switch (c) {
            case 'A': return alliance_;
            case 'F': return theme_->field;
            case 'T': return topic_;
            case 'L': return lead_.empty() ? slot('E') : lead_;
            case 'E': return !enterprises_.empty() && rng_.percent(75) ? rng_.pick(enterprises_) : enterprise();
            case 'U': return !universities_.empty() && rng_.percent(75) ? rng_.pick(universities_) : university();
            case 'I': return !institutes_.empty() && rng_.percent(75) ? rng_.pick(institutes_) : research_institute();
            case 'K': return keyword();
            case 'P': return rng_.pick((rng_.percent(90) ? *theme_ : rng_.pick(themes())).products);
            case 'D': return rng_.pick(districts()).name;
            case 'B': return finance_org();
            case 'N': return std::to_string(rng_.between(3, 30));
            case 'n': return std::to_string(rng_.between(1, 5));
            case 'M': return std::to_string(rng_.between(50, 600));
            case 'W': return std::to_string(rng_.between(100, 20000));
            case 'R': return std::to_string(rng_.between(5, 45));
            case 'Y': return std::to_string(rng_.between(2019, 2021));
            default: return std::string(1, c);
        }
    }

    std::string keyword() { return rng_.pick((rng_.percent(90) ? *theme_ : rng_.pick(themes())).keywords); }

    // Fills the {X} slots of a template; the same slot twice in one sentence gets two different values.
    std::string fill(std::string_view tmpl) {
        std::string out;
        std::vector<std::string> used;
        for (std::size_t i = 0; i < tmpl.size(); ++i) {
            if (tmpl[i] != '{' || i + 2 >= tmpl.size() || tmpl[i + 2] != '}') { out += tmpl[i]; continue; }
            std::string v = slot(tmpl[i + 1]);
            for (int attempt = 0; attempt < 4 && std::find(used.begin(), used.end(), v) != used.end(); ++attempt)
                v = slot(tmpl[i + 1]);
            used.push_back(v);
            out += v;
            i += 2;
        }
        return out;
    }

    // Which report sentences speak to a topic, from "topic word:sentence word,…" cues.
    static std::vector<bool> on_topic(const std::string& topic) {
        struct Cue {
            std::string topic_word;
            std::vector<bool> sentences;
        };
        static const std::vector<Cue> cues = [] {
            std::vector<Cue> out;
            const auto& bank = report_sentences();
            for (const std::string& w : split(
                     "重要性:组建,问题,基础 组织机构:理事会,秘书处,专家委员会,制度 合作模式:合作,协同,项目 "
                     "管理:制度,管理,考核,简报,会议 知识产权:知识产权 经费:经费,资金,融资,投入 前瞻:前瞻,预研,2025 "
                     "标准:标准,专利 路线图:路线图,方向 平台:平台,仪器 产业化:转化,产业化,批量 资源:资源,库 "
                     "交流:交流,对接,活动 人才:人才,培养 协同创新:联合,协同,对接 成果:成果,专利,奖励,应用", ' ')) {
                Cue cue{w.substr(0, w.find(':')), std::vector<bool>(bank.size())};
                for (const std::string& word : split(w.substr(w.find(':') + 1), ','))
                    for (std::size_t i = 0; i < bank.size(); ++i)
                        if (bank[i].find(word) != std::string_view::npos) cue.sentences[i] = true;
                out.push_back(std::move(cue));
            }
            return out;
        }();
        std::vector<bool> marked(report_sentences().size());
        for (const Cue& cue : cues)
            if (topic.find(cue.topic_word) != std::string::npos)
                for (std::size_t i = 0; i < marked.size(); ++i) marked[i] = marked[i] || cue.sentences[i];
        return marked;
    }

    // Paragraphs of report prose on `topic`, about `target` characters in all.
    std::string prose(const std::string& topic, std::int64_t paragraphs, std::size_t target) {
        static const std::vector<std::string_view> openers = {
            "关于{T}，{A}立足重庆{F}产业发展实际，结合成员单位优势资源，形成如下思路和安排。",
            "在{T}方面，联盟坚持问题导向和目标导向，统筹成员单位创新资源，扎实推进相关工作。",
            "围绕{T}，{A}在理事会的统一部署下，重点开展了以下工作。",
            "{T}是联盟建设的重要内容，直接关系到联盟能否长期稳定、高效运行。"};
        const auto& bank = report_sentences();
        std::vector<std::size_t> order(bank.size());
        std::size_t next = order.size();
        bool first_round = true;
        const std::vector<bool> relevant = on_topic(topic);
        topic_ = topic;
        std::string text;
        const std::size_t per_paragraph = target / static_cast<std::size_t>(std::max<std::int64_t>(paragraphs, 1));
        for (std::int64_t p = 0; p < paragraphs; ++p) {
            std::string para;
            if (p == 0)
                para = fill(utf8_length(topic) <= 2 ? "除上述工作外，联盟还将结合{F}产业发展需要，统筹推进以下工作。" : rng_.pick(openers));
            for (std::size_t chars = utf8_length(para); chars < per_paragraph;) {
                if (next == order.size()) {  // a fresh shuffle: no sentence twice until all were used
                    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
                    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng_.below(i + 1)]);
                    if (first_round) std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return relevant[i]; });  // on the topic first
                    first_round = false;
                    next = 0;
                }
                std::string sentence = fill(bank[order[next++]]);
                chars += utf8_length(sentence);
                para += sentence;
            }
            text += (p ? "\n\n" : "") + para;
        }
        return text;
    }

    std::string opinion(const Field& f) {
        static const std::vector<std::string_view> council = {
            "经理事会审议，同意该单位作为联盟主要成员单位。", "同意。经{Y}年联盟理事会会议审议通过。", "理事会审核通过，同意吸纳为联盟主要成员单位。"};
        static const std::vector<std::string_view> member = {
            "同意加入{A}，积极参与联盟各项活动。", "同意作为联盟主要成员单位，认真履行成员义务。", "本单位同意加入联盟，并按联盟章程承担相应任务。"};
        static const std::vector<std::string_view> general = {
            "本单位承诺所填报内容真实有效，将积极支持联盟建设，为联盟运行提供必要的场地、人员和经费保障。",
            "同意推荐{A}申报市级产业技术创新联盟。",
            "本单位将继续发挥牵头作用，组织成员单位围绕{K}等方向开展联合攻关。"};
        if (label_has(f, "理事会")) return fill(rng_.pick(council));
        if (label_has(f, "成员")) return fill(rng_.pick(member));
        std::string out = fill(rng_.pick(general));
        return f.type == FieldType::Multiline && rng_.percent(50) ? out + fill(rng_.pick(general)) : out;
    }

    std::string short_text(const Field& f) {
        static const auto grades = split("一等奖 二等奖 三等奖 特等奖", ' ');
        static const auto project_kinds = split("国家重点研发计划 重庆市技术创新与应用发展专项重点项目 重庆市技术创新与应用发展专项面上项目 "
                                                "重庆市自然科学基金 国家自然科学基金 工业强基工程 重庆市重点研发项目", ' ');
        static const auto natures = split("事业单位 社会团体 民办非企业单位 新型研发机构", ' ');
        static const std::vector<std::string_view> uses = {"用于{P}的性能提升与批量生产", "服务{F}企业的工艺优化与质量提升", "推广应用于成员企业{K}生产线", "支撑{P}国产化替代"};
        static const std::vector<std::string_view> platforms = {"院士专家工作站{n}家、博士后科研工作站{n}家", "市级工程技术研究中心{n}家", "新型研发机构{n}家、众创空间{n}家"};
        static const std::vector<std::string_view> phrases = {"{K}技术研发", "{P}生产与销售", "{K}相关技术服务", "{F}领域技术咨询"};
        if (f.type == FieldType::Multiline) {
            std::size_t target = std::min<std::size_t>(static_cast<std::size_t>(rng_.between(180, 480)), f.max_length * 4 / 5);
            return prose(topic_of(f.label.zh), rng_.between(1, 2), target);
        }
        if (label_has(f, "类别")) return rng_.pick(in_table_labelled("奖") ? grades : project_kinds);
        if (label_has(f, "注明")) return rng_.pick(natures);
        if (label_has(f, "用途")) return fill(rng_.pick(uses));
        if (label_has(f, "其中")) return fill(rng_.pick(platforms));
        return fill(rng_.pick(phrases));
    }

    // ---- values by hint and type

    std::string text_for(const Field& f) {
        const std::string& h = f.gen;
        switch (f.type) {  // structured types: the hint may only choose among valid shapes
            case FieldType::Date: return date(f);
            case FieldType::Phone: return h == "phone_mobile" ? mobile() : landline();
            case FieldType::Email: return email();
            case FieldType::PostalCode: return postal_code();
            case FieldType::Url: return url();
            default: break;
        }
        static const std::vector<std::string_view> projects = {"{K}关键技术研究及产业化", "面向{F}的{K}技术研发与应用", "{P}研发及产业化示范",
                                                               "基于{K}的{P}开发", "{K}共性技术攻关", "高性能{P}关键技术研究"};
        static const std::vector<std::string_view> standards = {"《{P}通用技术条件》", "《{P}技术规范》", "《{K}试验方法》", "《{K}评价指南》"};
        static const auto awards = split("重庆市科技进步奖 重庆市技术发明奖 国家科学技术进步奖 中国机械工业科学技术奖 "
                                         "中国汽车工业科学技术进步奖 中国专利优秀奖 重庆市专利奖 中国产学研合作创新成果奖", ' ');
        static const auto titles = split("教授 研究员 正高级工程师 高级工程师 董事长 总经理 副总经理 总工程师 院长 副院长 主任 副教授 技术总监", ' ');
        static const auto roles = split("副理事长 常务理事 理事 理事 理事 监事", ' ');
        if (h == "alliance_name") return alliance_;
        if (h == "person_name") return label_has(f, "完成人") ? person_names(2, 3) : person_name();
        if (h == "org_name") return org_name(f);
        if (h == "university_name") return university();
        if (h == "institute_name") return institute_name(f);
        if (h == "service_org_name") return service_org();
        if (h == "org_list") return org_list(OrgKind::Any, rng_.between(2, 4));
        if (h == "address_cq") return address();
        if (h == "postal_code_cq") return postal_code();
        if (h == "phone_landline" || h == "fax") return landline();
        if (h == "phone_mobile") return mobile();
        if (h == "email") return email();
        if (h == "url") return url();
        if (h == "date_past") return date(f);
        if (h == "title_or_post") return rng_.pick(titles);
        if (h == "council_role") return row_ == 0 ? "理事长" : row_ == 1 ? "副理事长" : row_ == 2 ? "秘书长" : rng_.pick(roles);
        if (h == "tech_field") {
            if (!table_) return theme_->field;
            std::string a = rng_.pick(theme_->subjects), b = rng_.pick(theme_->subjects);
            return a == b || rng_.percent(50) ? a : a + "、" + b;
        }
        if (h == "project_name") return fill(rng_.pick(projects));
        if (h == "award_name") return rng_.pick(awards);
        if (h == "standard_name") {
            std::string names = fill(rng_.pick(standards));
            return rng_.percent(40) ? names + "、" + fill(rng_.pick(standards)) : names;
        }
        if (h == "product_name") return slot('P');
        if (h == "report_text") {
            std::size_t target = std::min<std::size_t>(static_cast<std::size_t>(rng_.between(850, 2400)), f.max_length * 4 / 5);
            return prose(topic_of(f.label.zh), rng_.between(3, 6), target);
        }
        if (h == "opinion_text") return opinion(f);
        return short_text(f);  // short_text, or a hint this generator does not know
    }

    std::string number_for(const Field& f) {
        std::string h = f.gen;
        if (h != "count_small" && h != "count_medium" && h != "money" && h != "percent")
            h = f.type == FieldType::Integer ? "count_small" : f.type == FieldType::Decimal ? "percent" : "money";
        Centi v = 0;
        if (h == "count_small") {
            v = rng_.between(0, 15) * 100;
        } else if (h == "count_medium") {
            static const Centi bounds[] = {30, 300, 1000, 5000};
            std::size_t b = rng_.weighted({50, 35, 15});
            v = rng_.between(bounds[b], bounds[b + 1]) * 100;
        } else if (h == "money") {  // 万元 in hundredths: 10 万 … 30 亿
            static const Centi bounds[] = {1000, 50000, 500000, 5000000, 30000000};
            v = rng_.between(bounds[money_scale_], bounds[money_scale_ + 1]);
            if (f.min && *f.min < 0 && rng_.percent(10)) v = -v / 4;  // the occasional loss
        } else {
            const bool small = label_has(f, "国际") || label_has(f, "比例");  // export share, R&D ratio
            v = small ? rng_.between(10, 1500) : rng_.between(50, 6000);
        }
        return format_number(f, fit_range(f, v));
    }

    json choose_option(const Field& f) {
        // The organisation just named decides its own kind (university, joint_stock, national …).
        if (const Option* o = f.find_option(kind_); o && rng_.percent(80)) return o->value;
        return rng_.pick(f.options).value;
    }

    json choose_options(const Field& f) {
        json out = json::array();
        for (const Option& o : f.options)
            if (rng_.percent(40)) out.push_back(o.value);
        if (out.empty()) out.push_back(rng_.pick(f.options).value);
        return out;
    }

    json value_for(const Field& f) {
        switch (f.type) {
            case FieldType::Table: return table_rows(f);
            case FieldType::Choice: return choose_option(f);
            case FieldType::MultiChoice: return choose_options(f);
            case FieldType::Checkbox: return rng_.percent(50);
            case FieldType::Commitment: return true;
            case FieldType::Integer:
            case FieldType::Decimal:
            case FieldType::Money: return number_for(f);
            default: return fit(text_for(f), f.max_length);
        }
    }

    // ============================================================ [SECTION] Walking the form

    // Rows: required tables 2..6, others 1..6, always within min_rows..max_rows.
    json table_rows(const Field& t) {
        const std::size_t hi = std::max(std::min<std::size_t>(t.max_rows, 6), t.min_rows);
        const std::size_t lo = std::min(hi, std::max<std::size_t>(t.min_rows, t.required ? 2 : 1));
        const std::size_t n = static_cast<std::size_t>(rng_.between(static_cast<std::int64_t>(lo), static_cast<std::int64_t>(hi)));
        json rows = json::array();
        const Field* outer = table_;
        table_ = &t;
        for (row_ = 0; row_ < n; ++row_) {
            forget_context();
            json row = json::object();
            fill_fields(t.columns, row, &t);
            rows.push_back(std::move(row));
        }
        table_ = outer, row_ = 0;
        return rows;
    }

    // Fills `fields` into `into` (the record, or a row of `table`). Fields with a
    // visible_if come in a second pass, once the values they depend on exist.
    void fill_fields(const std::vector<Field>& fields, json& into, const Field* table) {
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t i = 0; i < fields.size(); ++i) {
                const Field& f = fields[i];
                if ((pass == 1) != f.visible_if.has_value() || f.filled_by == FilledBy::District) continue;
                if (!table && f.gen == "org_list") continue;  // after the rules settle the counts
                if (!table) rng_ = Rng(salted(seed_, f.id));
                if (pass == 1 && !(table ? is_visible(f, record_, table, &into) : is_visible(f, record_))) continue;
                if (!f.required && rng_.percent(15)) continue;  // some optional fields stay empty
                json v = value_for(f);
                for (int attempt = 0; attempt < 3 && repeats_sibling(fields, f, into, v); ++attempt) v = value_for(f);
                if (!is_filled(&v)) continue;
                into[f.id] = std::move(v);
                cap_by_parent(fields, i, into);
            }
    }

    // Whether a sibling with the same hint already holds this value (主导产品1 == 主导产品2).
    static bool repeats_sibling(const std::vector<Field>& fields, const Field& f, const json& into, const json& v) {
        if (f.gen.empty() || !f.is_texty()) return false;
        for (const Field& g : fields)
            if (&g != &f && g.gen == f.gen && into.contains(g.id) && into[g.id] == v) return true;
        return false;
    }

    // A "其中…" (of which) number is part of the nearest earlier number of its type.
    void cap_by_parent(const std::vector<Field>& fields, std::size_t i, json& into) {
        const Field& f = fields[i];
        if (!f.is_numeric() || f.label.zh.rfind("其中", 0) != 0) return;
        for (std::size_t j = i; j-- > 0;) {
            if (fields[j].type != f.type) continue;
            auto part = centi_of(into, f.id), whole = centi_of(into, fields[j].id);
            if (part && whole && *part > *whole) into[f.id] = format_number(f, fit_range(f, *whole * rng_.between(30, 90) / 100));
            return;
        }
    }

    // ============================================================ [SECTION] Rules

    void set_number(const Field& f, Centi v) { record_[f.id] = format_number(f, fit_range(f, v)); }

    // Changes the record so that `c` holds; returns whether anything changed.
    bool make_hold(const Condition& c) {
        const Field* f = form_.find_field(c.field);
        if (!f || f->filled_by == FilledBy::District) return false;
        auto it = record_.find(c.field);
        const std::string text = it != record_.end() && it->is_string() ? it->get<std::string>() : "";
        switch (c.op) {
            case ConditionOp::Gte: {
                Centi want = ceil_to(to_centi(c.number), step_of(*f));
                set_number(*f, want + floor_to(rng_.between(0, std::max<Centi>(want / 2, 0)), step_of(*f)));
                return true;
            }
            case ConditionOp::Lte: set_number(*f, std::min(centi_of(record_, f->id).value_or(0), to_centi(c.number))); return true;
            case ConditionOp::LteField: {
                auto whole = centi_of(record_, c.other);
                if (!whole) return false;
                set_number(*f, *whole * rng_.between(40, 100) / 100);
                return true;
            }
            case ConditionOp::Equals: record_[f->id] = c.text; return true;
            case ConditionOp::NotEquals:
                for (const Option& o : f->options)
                    if (o.value != c.text) {
                        record_[f->id] = o.value;
                        return true;
                    }
                return false;
            case ConditionOp::Includes:
                if (it == record_.end() || !it->is_array()) record_[f->id] = json::array();
                record_[f->id].push_back(c.text);
                return true;
            case ConditionOp::Filled: record_[f->id] = value_for(*f); return true;
            case ConditionOp::IsTrue: record_[f->id] = true; return true;
            case ConditionOp::Contains: record_[f->id] = fit(c.text + text, f->max_length); return true;
            case ConditionOp::Prefix:  // a fixed-length code keeps its length
                record_[f->id] = f->type == FieldType::PostalCode && text.size() >= c.text.size()
                                     ? c.text + text.substr(c.text.size())
                                     : fit(c.text + text, f->max_length);
                return true;
            case ConditionOp::RowsLte:
                if (it == record_.end() || !it->is_array()) return false;
                while (static_cast<double>(it->size()) > c.number && !it->empty()) it->erase(it->size() - 1);
                return true;
        }
        return false;
    }

    bool make_sum(const Rule& r) {
        const Field* total = form_.find_field(r.total);
        if (!total) return false;
        Centi sum = 0;
        for (const std::string& p : r.parts) sum += centi_of(record_, p).value_or(0);
        std::string want = format_number(*total, fit_range(*total, sum));
        auto it = record_.find(r.total);
        if (it != record_.end() && it->is_string() && it->get<std::string>() == want) return false;
        record_[r.total] = want;
        return true;
    }

    // Each rule in turn, until a pass changes nothing (a fix can disturb an earlier rule).
    void apply_rules() {
        for (int pass = 0; pass < 4; ++pass) {
            bool changed = false;
            for (const Rule& r : form_.rules) {
                rng_ = Rng(salted(seed_, "rule:" + r.id + ":" + std::to_string(pass)));
                if (r.kind == RuleKind::SumEquals) {
                    changed |= make_sum(r);
                } else if (r.kind == RuleKind::All) {
                    for (const Condition& c : r.conditions)
                        if (!condition_holds(c, record_)) changed |= make_hold(c);
                } else if (!r.conditions.empty() &&
                           std::none_of(r.conditions.begin(), r.conditions.end(), [&](const Condition& c) { return condition_holds(c, record_); })) {
                    changed |= make_hold(r.conditions.front());
                }
            }
            if (!changed) break;
        }
    }

    // A hidden field must be absent, also when a rule changed what it depends on.
    void drop_hidden() {
        for (const Field* f : form_.all_fields()) {
            auto it = record_.find(f->id);
            if (it == record_.end()) continue;
            if (!is_visible(*f, record_)) { record_.erase(it); continue; }
            if (f->type != FieldType::Table || !it->is_array()) continue;
            for (json& row : *it)
                for (const Field& c : f->columns)
                    if (c.visible_if && row.contains(c.id) && !is_visible(c, record_, f, &row)) row.erase(c.id);
        }
    }

    // ============================================================ [SECTION] Member lists

    // An org_list field names the organisations its count field (the nearest integer
    // before it) counts, of the kind that field's label says.
    void fill_member_lists() {
        for (const Section& s : form_.sections)
            for (std::size_t i = 0; i < s.fields.size(); ++i) {
                const Field& f = s.fields[i];
                if (f.gen != "org_list" || f.filled_by == FilledBy::District || !is_visible(f, record_)) continue;
                rng_ = Rng(salted(seed_, f.id));
                forget_context();
                const Field* count = nullptr;
                for (std::size_t j = i; j-- > 0 && !count;)
                    if (s.fields[j].type == FieldType::Integer) count = &s.fields[j];
                std::int64_t n = count ? centi_of(record_, count->id).value_or(0) / 100 : rng_.percent(15) ? 0 : rng_.between(2, 5);
                if (n <= 0 && f.required) n = rng_.between(2, 5);
                if (n > 0) record_[f.id] = fit(org_list(count ? org_kind_of(*count) : org_kind_of(f), n), f.max_length);
            }
    }

    const FormDefinition& form_;
    std::uint64_t seed_;
    Rng rng_;
    const Theme* theme_ = nullptr;
    std::string alliance_, lead_;
    json record_ = json::object();
    const Field* table_ = nullptr;  // the table being filled, and its row
    std::size_t row_ = 0;
    std::string domain_, kind_, postcode_;  // the organisation / address just named
    std::size_t money_scale_ = 1;           // its money bucket (see number_for)
    std::string surname_py_, given_py_, initials_;  // the person just named
    std::string topic_;
    std::vector<std::string> enterprises_, universities_, institutes_;  // named so far, for the prose
};

}  // namespace

json generate_application(const FormDefinition& form, std::uint64_t seed) { return Generator(form, seed).run(); }

}  // namespace shenbao
