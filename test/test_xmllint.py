# Copyright 2026 brain_execution contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.


"""
Schema checks of both package manifests, the check ament_xmllint would make.

ament_xmllint is not installable here and the format-3 schema is remote, so the rules of
``package_format3.xsd`` (REP 149) that matter are checked directly, catkin_pkg parses and
validates each manifest with its warnings treated as failures, and the manifests are checked
against the build files they describe (setup.py, CMakeLists.txt).
"""

from pathlib import Path
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from catkin_pkg.package import parse_package
import pytest

_ROOT_MANIFEST = Path('package.xml')
_INTERFACES_MANIFEST = Path('brain_execution_interfaces', 'package.xml')
_MANIFESTS = {
    _ROOT_MANIFEST: 'ament_python',
    _INTERFACES_MANIFEST: 'ament_cmake',
}

_SCHEMA_HREF = 'http://download.ros.org/schema/package_format3.xsd'
_DEPENDENCY_TAGS = frozenset({
    'build_depend', 'build_export_depend', 'buildtool_depend', 'buildtool_export_depend',
    'exec_depend', 'depend', 'doc_depend', 'test_depend', 'conflict', 'replace',
})
# package_format3.xsd: a sequence; the dependency tags form one choice group at rank 7.
_TAG_RANK = {
    'name': 0, 'version': 1, 'description': 2, 'maintainer': 3, 'license': 4, 'url': 5,
    'author': 6, **dict.fromkeys(_DEPENDENCY_TAGS, 7), 'group_depend': 8,
    'member_of_group': 9, 'export': 10,
}
_EXACTLY_ONCE = ('name', 'version', 'description')
_AT_LEAST_ONCE = ('maintainer', 'license')
_NAME_PATTERN = re.compile(r'[a-z](_?[a-z0-9]+)*')
_VERSION_PATTERN = re.compile(r'[0-9]+\.[0-9]+\.[0-9]+')
# Package names and rosdep keys (e.g. python3-yaml).
_DEPENDENCY_PATTERN = re.compile(r'[a-z0-9][a-z0-9_.+-]*')
# service_msgs reaches every interface package through rosidl_default_generators/-runtime;
# rosidl_generate_interfaces adds it (and action_msgs, for actions) to DEPENDENCIES itself.
_TOLERATED_IMPLICIT = frozenset({'service_msgs'})


def _manifest_ids():
    return [str(path) for path in _MANIFESTS]


def schema_problems(root):
    """
    Return the ways a parsed manifest breaks the format-3 schema's structure.

    :param root: The root element of a package.xml.
    :return: A list of messages, empty when the structure is valid.
    """
    problems = []
    if root.tag != 'package':
        return ['root element is <%s>, not <package>' % root.tag]
    if root.get('format') != '3':
        problems.append('format is %r, not "3"' % root.get('format'))
    tags = [child.tag for child in root if isinstance(child.tag, str)]
    unknown = sorted(set(tags) - set(_TAG_RANK))
    if unknown:
        problems.append('unknown tags: %s' % ', '.join(unknown))
    known = [tag for tag in tags if tag in _TAG_RANK]
    for before, after in zip(known, known[1:]):
        if _TAG_RANK[after] < _TAG_RANK[before]:
            problems.append('<%s> may not follow <%s>' % (after, before))
    for tag in _EXACTLY_ONCE:
        if tags.count(tag) != 1:
            problems.append('<%s> occurs %d times, not once' % (tag, tags.count(tag)))
    for tag in _AT_LEAST_ONCE:
        if not tags.count(tag):
            problems.append('<%s> is missing' % tag)
    if tags.count('export') > 1:
        problems.append('<export> occurs more than once')
    name = root.findtext('name', '').strip()
    if not _NAME_PATTERN.fullmatch(name):
        problems.append('name %r is not a valid package name' % name)
    version = root.findtext('version', '').strip()
    if not _VERSION_PATTERN.fullmatch(version):
        problems.append('version %r is not MAJOR.MINOR.PATCH' % version)
    for maintainer in root.findall('maintainer'):
        if not maintainer.get('email') or not (maintainer.text or '').strip():
            problems.append('a <maintainer> lacks a name or an email attribute')
    for child in root:
        if child.tag in _DEPENDENCY_TAGS and not _DEPENDENCY_PATTERN.fullmatch(
                (child.text or '').strip()):
            problems.append('<%s>%s</%s> is not a valid dependency name' % (
                child.tag, child.text, child.tag))
    return problems


def _parse_strictly(path):
    warnings = []
    package = parse_package(str(path), warnings=warnings)
    return package, warnings


def _strip_cmake_comments(text):
    return '\n'.join(re.sub(r'#.*$', '', line) for line in text.splitlines())


def cmake_interface_dependencies(text):
    """
    Return what a CMakeLists.txt of an interface package finds and passes as DEPENDENCIES.

    :param text: Contents of the CMakeLists.txt.
    :return: ``(found, dependencies, project)``: the packages named in ``find_package``, those
        after ``DEPENDENCIES`` in ``rosidl_generate_interfaces``, and the project name.
    """
    text = _strip_cmake_comments(text)
    found = set(re.findall(r'find_package\(\s*([A-Za-z0-9_]+)', text))
    project = re.search(r'project\(\s*([A-Za-z0-9_]+)', text)
    dependencies = set()
    call = re.search(r'rosidl_generate_interfaces\(([^)]*)\)', text, re.DOTALL)
    if call:
        tokens = call.group(1).split()
        if 'DEPENDENCIES' in tokens:
            for token in tokens[tokens.index('DEPENDENCIES') + 1:]:
                if re.fullmatch(r'[A-Z][A-Z_]+', token):
                    break
                dependencies.add(token)
    return found, dependencies, project.group(1) if project else None


def _is_interface_package(name):
    try:
        from ament_index_python import get_resources
        indexed = set(get_resources('rosidl_interfaces'))
    except ImportError:
        indexed = set()
    return name in indexed or name.endswith(('_msgs', '_srvs', '_interfaces'))


@pytest.fixture(scope='module')
def setup_py_version(repo_root):
    # setup.py reads package.xml; ask it, as colcon does, rather than re-reading the XML.
    completed = subprocess.run(
        [sys.executable, 'setup.py', '--version'], cwd=repo_root, capture_output=True,
        text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()[-1]


def test_schema_check_detects_problems():
    # The structural check must be able to fail.
    good = ElementTree.fromstring(
        '<package format="3"><name>a_b</name><version>1.2.3</version>'
        '<description>d</description><maintainer email="m@x.invalid">m</maintainer>'
        '<license>Apache-2.0</license><depend>std_msgs</depend>'
        '<export><build_type>ament_python</build_type></export></package>')
    assert schema_problems(good) == []
    bad = ElementTree.fromstring(
        '<package format="2"><version>1.2</version><name>A__b</name>'
        '<description>d</description><license>x</license><maintainer>m</maintainer>'
        '<export/><depend>Bad Name</depend><bogus/></package>')
    problems = '\n'.join(schema_problems(bad))
    for expected in ('format', 'unknown tags: bogus', '<name> may not follow <version>',
                     'MAJOR.MINOR.PATCH', 'not a valid package name', 'email',
                     '<maintainer> may not follow <license>', 'not a valid dependency name',
                     '<depend> may not follow <export>'):
        assert expected in problems, problems


@pytest.mark.xmllint
@pytest.mark.linter
@pytest.mark.parametrize('manifest', list(_MANIFESTS), ids=_manifest_ids())
def test_manifest_is_well_formed_format_3(repo_root, manifest):
    path = repo_root / manifest
    tree = ElementTree.parse(path)  # raises ParseError when not well-formed
    assert schema_problems(tree.getroot()) == []
    # ament_xmllint validates against the schema the manifest names.
    head = path.read_text(encoding='utf-8')[:500]
    assert re.search(r'<\?xml-model href="%s"' % re.escape(_SCHEMA_HREF), head), head


@pytest.mark.xmllint
@pytest.mark.linter
@pytest.mark.parametrize('manifest', list(_MANIFESTS), ids=_manifest_ids())
def test_manifest_passes_catkin_pkg_validation(repo_root, manifest, setup_py_version):
    package, warnings = _parse_strictly(repo_root / manifest)
    assert warnings == []
    package.validate(warnings=warnings)
    assert warnings == []

    assert package.package_format == 3
    assert package.licenses == ['Apache-2.0']
    assert package.maintainers and all(m.email for m in package.maintainers)
    # One version source: setup.py reads the root manifest; both packages release together.
    assert package.version == setup_py_version
    assert package.get_build_type() == _MANIFESTS[manifest]
    assert len(package.exports) == len({e.tagname for e in package.exports})


def test_manifest_names_match_their_directories(repo_root):
    root_package, _ = _parse_strictly(repo_root / _ROOT_MANIFEST)
    interfaces_package, _ = _parse_strictly(repo_root / _INTERFACES_MANIFEST)
    assert interfaces_package.name == _INTERFACES_MANIFEST.parent.name
    # The root package's folder is wherever it is cloned; its name is that of its Python
    # package, its ament index marker and setup.py's package_name.
    assert (repo_root / root_package.name / '__init__.py').is_file()
    assert (repo_root / 'resource' / root_package.name).is_file()
    setup_py = (repo_root / 'setup.py').read_text(encoding='utf-8')
    assert "package_name = '%s'" % root_package.name in setup_py
    depends = {d.name for d in root_package.build_depends + root_package.exec_depends}
    assert interfaces_package.name in depends


def test_interfaces_manifest_matches_cmake(repo_root):
    package, _ = _parse_strictly(repo_root / _INTERFACES_MANIFEST)
    cmake = (repo_root / _INTERFACES_MANIFEST.parent / 'CMakeLists.txt').read_text(
        encoding='utf-8')
    found, dependencies, project = cmake_interface_dependencies(cmake)
    assert project == package.name

    buildtool = {d.name for d in package.buildtool_depends}
    assert {'ament_cmake', 'rosidl_default_generators'} <= buildtool
    assert {'ament_cmake', 'rosidl_default_generators'} <= found
    assert 'rosidl_default_runtime' in {d.name for d in package.exec_depends}
    assert 'rosidl_interface_packages' in {g.name for g in package.member_of_groups}

    # Every DEPENDENCIES entry is found first, and every message package found is used.
    found_interfaces = {name for name in found if _is_interface_package(name)}
    assert dependencies <= found, 'DEPENDENCIES without find_package: %s' % (
        dependencies - found)
    assert found_interfaces <= dependencies, 'found but not in DEPENDENCIES: %s' % (
        found_interfaces - dependencies)

    expected = set(dependencies)
    if list((repo_root / _INTERFACES_MANIFEST.parent / 'action').glob('*.action')):
        # rosidl_generate_interfaces adds action_msgs and requires a depend tag for it.
        expected.add('action_msgs')
    declared = {
        d.name for d in package.build_depends + package.exec_depends
        if _is_interface_package(d.name)}
    # Message packages must be available both to generate and to run.
    build_only = {d.name for d in package.build_depends} - {d.name for d in package.exec_depends}
    assert not {name for name in build_only if _is_interface_package(name)}
    assert declared - _TOLERATED_IMPLICIT == expected - _TOLERATED_IMPLICIT, (
        'package.xml message dependencies %s, CMakeLists.txt uses %s' % (
            sorted(declared), sorted(expected)))


def test_cmake_parser_reads_dependencies():
    found, dependencies, project = cmake_interface_dependencies(
        'project(p)\nfind_package(a_msgs REQUIRED)  # find_package(commented_msgs)\n'
        'rosidl_generate_interfaces(${PROJECT_NAME}\n  "msg/A.msg"\n'
        '  DEPENDENCIES a_msgs b_msgs # c_msgs\n  ADD_LINTER_TESTS\n)\n')
    assert project == 'p'
    assert found == {'a_msgs'}
    assert dependencies == {'a_msgs', 'b_msgs'}
