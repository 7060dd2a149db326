"""2-D depictions of molecules and mixtures as inline SVG (RDKit's drawing code)."""

from __future__ import annotations

from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from cryoprotect.chem.structures import InvalidStructureError, parse_smiles
from cryoprotect.html import Markup, macro


def molecule_svg(smiles: str, width: int = 220, height: int = 160, legend: str = "") -> str:
    """Return an SVG drawing of ``smiles`` (without the XML header), for embedding in HTML.

    Raises
    ------
    InvalidStructureError
        If RDKit cannot read ``smiles``.
    """
    molecule = parse_smiles(smiles)
    rdDepictor.Compute2DCoords(molecule)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().clearBackground = False
    drawer.DrawMolecule(molecule, legend=legend)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.index("<svg") :]


def structure_html(smiles: str, width: int = 220, height: int = 160, legend: str = "") -> str:
    """Return a depiction of ``smiles`` in a ``<figure>``, or the SMILES as text if unreadable."""
    try:
        drawing = Markup(molecule_svg(smiles, width, height, legend))
    except InvalidStructureError:
        drawing = None
    return macro("structure", smiles, drawing)
